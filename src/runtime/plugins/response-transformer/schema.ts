/** response-transformer's config, as Kong 3.9's. */
import {definePluginSchema, type Field} from '../../pdk/index.js'
import {headerPairs, pairs, record, strings} from '../../pdk/transform.js'

const jsonTypes = () => ({type: 'array', required: true, default: [], elements: {type: 'string', one_of: ['boolean', 'number', 'string']}}) as const satisfies Field
const valueRecord = () => record([['json', pairs()], ['json_types', jsonTypes()], ['headers', headerPairs()]])

export const schema = definePluginSchema({
  fields: [
    // as Kong's: any string (a `name:value` entry removes `name`)
    ['remove', record([['json', strings()], ['headers', strings()]])],
    ['rename', record([['headers', headerPairs()], ['json', pairs()]])],
    ['replace', valueRecord()],
    ['add', valueRecord()],
    ['append', valueRecord()],
  ],
})
