import {definePluginSchema} from '../../pdk/index.js'

export const schema = definePluginSchema({
  no_consumer: true,
  fields: [
    ['anonymous', {type: 'string', description: 'Consumer id or username to use when authentication fails.'}],
    ['hide_credentials', {type: 'boolean', required: true, default: false, description: 'Strip the Authorization header before proxying.'}],
    ['realm', {type: 'string', required: true, default: 'service', description: 'Realm in the WWW-Authenticate header of 401 responses.'}],
  ],
})
