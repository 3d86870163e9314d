/** cors's config, as Kong 3.9's. */
import {definePluginSchema} from '../../pdk/index.js'

export const METHODS = ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']

/** Kong accepts `*` or anything that compiles as a regex. */
function asteriskOrRegex(v: string): string | null {
  if (v === '*') return null
  try {
    new RegExp(v)
    return null
  } catch {
    return `'${v}' is not a valid regex`
  }
}

export const schema = definePluginSchema({
  no_consumer: true,
  fields: [
    ['origins', {type: 'array', elements: {type: 'string', custom: asteriskOrRegex}, description: 'Allowed origins: exact, regex, or `*`.'}],
    ['headers', {type: 'array', elements: {type: 'string'}, description: 'Access-Control-Allow-Headers; by default the requested ones.'}],
    ['exposed_headers', {type: 'array', elements: {type: 'string'}, description: 'Access-Control-Expose-Headers.'}],
    ['methods', {type: 'array', default: METHODS, elements: {type: 'string', one_of: METHODS}, description: 'Access-Control-Allow-Methods.'}],
    ['max_age', {type: 'number', description: 'Seconds a preflight result may be cached.'}],
    ['credentials', {type: 'boolean', required: true, default: false, description: 'Send Access-Control-Allow-Credentials: true.'}],
    ['private_network', {type: 'boolean', required: true, default: false, description: 'Answer Private Network Access preflights.'}],
    ['preflight_continue', {type: 'boolean', required: true, default: false, description: 'Proxy preflight requests to the upstream.'}],
    ['allow_origin_absent', {type: 'boolean', required: true, default: true, description: 'Add CORS headers when the request has no Origin.'}],
  ],
})
