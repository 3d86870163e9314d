/** response-transformer's config, as Kong 3.9's (its messages too). */
import {definePluginSchema, type Field} from '../../pdk/index.js'
import {record, splitPair, strings} from '../../pdk/transform.js'

/**
 * Kong's `match = "^[^:]+:.*$"` (a Lua pattern: `.` is any byte, line breaks too):
 * `invalid value: x` for an entry with no name before a colon, then `check`.
 */
const colon = (check: (v: string) => string | null) => (v: string): string | null => (/^[^:]+:/.test(v) ? check(v) : `invalid value: ${v}`)

/** Kong's validate_header_name. */
const validHeaderName = (name: string) => /^[a-zA-Z0-9_-]+$/.test(name)

/** Kong's validate_colon_headers (rename.headers): both names are valid header names. */
function colonHeaders(pair: string): string | null {
  const [name, value] = splitPair(pair)
  if (!validHeaderName(name)) return `'${name}' is not a valid header`
  if (!validHeaderName(value)) return `'${value}' is not a valid header`
  return null
}

/** Kong's colon_string_array: `name:value` entries (`invalid value: x` without a colon). */
const colonStrings = () => ({type: 'array', required: true, default: [], elements: {type: 'string', custom: colon(() => null)}}) as const satisfies Field
const colonHeaderStrings = () => ({type: 'array', required: true, default: [], elements: {type: 'string', custom: colon(colonHeaders)}}) as const satisfies Field
/**
 * replace/add/append headers: Kong checks only the colon; kctl also refuses a name that
 * is no header name (Kong's message), which Kong would fail on for every response.
 */
const headerNameFirst = (pair: string): string | null => {
  const [name] = splitPair(pair)
  return validHeaderName(name) ? null : `'${name}' is not a valid header`
}
const colonHeaderValues = () => ({type: 'array', required: true, default: [], elements: {type: 'string', custom: colon(headerNameFirst)}}) as const satisfies Field
const jsonTypes = () => ({type: 'array', required: true, default: [], elements: {type: 'string', one_of: ['boolean', 'number', 'string']}}) as const satisfies Field
const valueRecord = () => record([['json', colonStrings()], ['json_types', jsonTypes()], ['headers', colonHeaderValues()]])

export const schema = definePluginSchema({
  fields: [
    // as Kong's: any string (a `name:value` entry removes `name`)
    ['remove', record([['json', strings()], ['headers', strings()]])],
    ['rename', record([['json', colonStrings()], ['headers', colonHeaderStrings()]])],
    ['replace', valueRecord()],
    ['add', valueRecord()],
    ['append', valueRecord()],
  ],
})
