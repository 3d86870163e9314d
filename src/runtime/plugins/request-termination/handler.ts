/**
 * request-termination: answers every request itself (maintenance, blocking), optionally
 * only when a trigger header or query argument is present.
 */
import {GATEWAY_VERSION, type PluginContext, type PluginHandler, type ConfigOf} from '../../pdk/index.js'
import {schema} from './schema.js'

type Config = ConfigOf<typeof schema>

const DEFAULT_MESSAGE: Record<number, string> = {
  401: 'Unauthorized',
  404: 'Not found',
  405: 'Method not allowed',
  500: 'An unexpected error occurred',
  502: 'Bad Gateway',
  503: 'Service unavailable',
}

export const handler: PluginHandler<Config> = {
  name: 'request-termination',
  version: GATEWAY_VERSION,
  priority: 2,
  access(k, conf) {
    if (conf.trigger && k.header(conf.trigger.toLowerCase()) === undefined && !k.query.has(conf.trigger)) return
    const status: number = conf.status_code
    if (conf.echo) {
      const message = conf.message ?? DEFAULT_MESSAGE[status] ?? null
      return k.exit(status, JSON.stringify({message, kong: kongInfo(k), request: requestInfo(k)}), {'content-type': 'application/json; charset=utf-8'})
    }
    if (conf.body != null) return k.exit(status, conf.body, conf.content_type ? {'content-type': conf.content_type} : {})
    k.error(status, conf.message ?? DEFAULT_MESSAGE[status] ?? `The upstream server responded with ${status}`)
  },
}

const kongInfo = (k: PluginContext) => ({consumer: k.consumer, route: k.route, service: k.service})

function requestInfo(k: PluginContext) {
  return {
    scheme: k.scheme,
    host: (k.header('host') ?? '').replace(/:\d+$/, ''),
    method: k.method,
    path: k.path,
    headers: k.headers,
    query: Object.fromEntries(k.query),
  }
}
