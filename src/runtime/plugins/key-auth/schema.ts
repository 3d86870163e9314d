import {headerName, definePluginSchema} from '../../pdk/index.js'

export const schema = definePluginSchema({
  no_consumer: true,
  fields: [
    ['key_names', {type: 'array', required: true, default: ['apikey'], elements: headerName(), description: 'Header, query or body parameter names where the key is looked for.'}],
    ['hide_credentials', {type: 'boolean', required: true, default: false, description: 'Strip the key from the request before proxying it.'}],
    ['anonymous', {type: 'string', description: 'Consumer id or username to use when authentication fails.'}],
    ['key_in_header', {type: 'boolean', required: true, default: true, description: 'Look for the key in the request headers.'}],
    ['key_in_query', {type: 'boolean', required: true, default: true, description: 'Look for the key in the query string.'}],
    ['key_in_body', {type: 'boolean', required: true, default: false, description: 'Look for the key in a form or JSON body.'}],
    ['run_on_preflight', {type: 'boolean', required: true, default: true, description: 'Authenticate OPTIONS preflight requests too.'}],
    ['realm', {type: 'string', description: 'Realm in the WWW-Authenticate header of 401 responses.'}],
  ],
})
