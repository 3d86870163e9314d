/** request-transformer's config, as Kong 3.9's. */
import {definePluginSchema, type Field} from '../../pdk/index.js'
import {headerNames, headerPairs, record, splitPair, strings} from '../../pdk/transform.js'
import {templateError} from './template.js'

/** Kong's check_for_value: a name, a value, and a value that compiles as a template. */
function checkForValue(entry: string): string | null {
  const [name, value] = splitPair(entry)
  if (!name || value === '') return `key '${name}' has no value`
  return templateError(value)
}
const pairs = () => ({type: 'array', required: true, default: [], elements: {type: 'string', custom: checkForValue}}) as const satisfies Field
const pairRecord = () => record([['body', pairs()], ['headers', headerPairs()], ['querystring', pairs()]])

export const schema = definePluginSchema({
  fields: [
    ['http_method', {type: 'string', match: '^[A-Z]+$', description: 'Method sent upstream instead of the client one.'}],
    ['remove', record([['body', strings()], ['headers', headerNames()], ['querystring', strings()]])],
    ['rename', pairRecord()],
    ['replace', record([['body', pairs()], ['headers', headerPairs()], ['querystring', pairs()], ['uri', {type: 'string', description: 'Upstream path instead of the routed one.'}]])],
    ['add', pairRecord()],
    ['append', pairRecord()],
  ],
})
