/** request-transformer's config, as Kong 3.9's. */
import {definePluginSchema} from '../../pdk/index.js'
import {headerNames, headerPairs, pairs, record, strings} from '../../pdk/transform.js'

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
