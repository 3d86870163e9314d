/** request-transformer's config, as Kong 3.9's (its checks and messages). */
import {definePluginSchema, type Field} from '../../pdk/index.js'
import {record, splitPair, strings} from '../../pdk/transform.js'
import {templateError} from './template.js'

/**
 * Kong's `match = "^[^:]+:.*$"` (a Lua pattern: `.` is any byte, line breaks too):
 * `invalid value: x` for an entry with no name before a colon, then `check`.
 */
const colon = (check: (v: string) => string | null) => (v: string): string | null => (/^[^:]+:/.test(v) ? check(v) : `invalid value: ${v}`)

/** Kong's check_for_value: a name, a value, and a value that compiles as a template. */
function checkForValue(entry: string): string | null {
  const [name, value] = splitPair(entry)
  if (!name || value === '') return `key '${name}' has no value`
  return templateError(value)
}
const pairs = () => ({type: 'array', required: true, default: [], elements: {type: 'string', custom: checkForValue}}) as const satisfies Field

/** Kong's validate_header_name. */
const validHeaderName = (name: string) => /^[a-zA-Z0-9_-]+$/.test(name)
/** Kong's validate_headers: the entry's name (and with `both`, its value) is a header name. */
const validateHeaders = (both: boolean) => (pair: string): string | null => {
  const [name, value] = splitPair(pair)
  if (!validHeaderName(name)) return `'${name}' is not a valid header`
  if (both && !validHeaderName(value)) return `'${value}' is not a valid header`
  return null
}
/** remove.headers: names (Kong's headers_array). */
const headerNames = () => ({type: 'array', required: true, default: [], elements: {type: 'string', custom: validateHeaders(false)}}) as const satisfies Field
/** replace/add/append headers: `name:value` (`invalid value: x` without a colon), a header name. */
const headerPairs = () => ({type: 'array', required: true, default: [], elements: {type: 'string', custom: colon(validateHeaders(false))}}) as const satisfies Field
/** rename.headers: `old:new`, both header names. */
const headerRenames = () => ({type: 'array', required: true, default: [], elements: {type: 'string', custom: colon(validateHeaders(true))}}) as const satisfies Field
const pairRecord = () => record([['body', pairs()], ['headers', headerPairs()], ['querystring', pairs()]])

export const schema = definePluginSchema({
  fields: [
    ['http_method', {type: 'string', match: '^[A-Z]+$', description: 'Method sent upstream instead of the client one.'}],
    ['remove', record([['body', strings()], ['headers', headerNames()], ['querystring', strings()]])],
    ['rename', record([['body', pairs()], ['headers', headerRenames()], ['querystring', pairs()]])],
    ['replace', record([['body', pairs()], ['headers', headerPairs()], ['querystring', pairs()], ['uri', {type: 'string', description: 'Upstream path instead of the routed one.'}]])],
    ['add', pairRecord()],
    ['append', pairRecord()],
  ],
})
