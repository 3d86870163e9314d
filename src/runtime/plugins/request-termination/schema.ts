import {headerName, definePluginSchema} from '../../pdk/index.js'

const present = (v: unknown) => v !== null && v !== undefined && v !== ''

export const schema = definePluginSchema({
  fields: [
    ['status_code', {type: 'integer', required: true, default: 503, between: [100, 599], description: 'The response code to send.'}],
    ['message', {type: 'string', description: 'The message to send, in the default JSON body.'}],
    ['content_type', {type: 'string', description: 'Content type of the raw `body`.'}],
    ['body', {type: 'string', description: 'The raw response body to send; exclusive with `message`.'}],
    ['echo', {type: 'boolean', required: true, default: false, description: 'Reflect the request back in the response body (debugging).'}],
    ['trigger', {...headerName(), description: 'Only terminate when this header or query argument is present.'}],
  ],
  custom_validator: (c) => {
    if (present(c.message) && (present(c.content_type) || present(c.body))) return 'message cannot be used with content_type or body'
    if (present(c.content_type) && !present(c.body)) return 'content_type requires a body'
    if (c.echo && (present(c.content_type) || present(c.body))) return 'echo cannot be used with content_type and body'
    return null
  },
})
