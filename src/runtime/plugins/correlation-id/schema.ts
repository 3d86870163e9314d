import {headerName, definePluginSchema} from '../../pdk/index.js'

export const schema = definePluginSchema({
  fields: [
    ['header_name', {...headerName(), default: 'Kong-Request-ID', description: 'Header carrying the correlation id.'}],
    ['generator', {type: 'string', required: true, default: 'uuid#counter', one_of: ['uuid', 'uuid#counter', 'tracker'], description: 'How ids are generated.'}],
    ['echo_downstream', {type: 'boolean', required: true, default: false, description: 'Send the id back to the client too.'}],
  ],
})
