/**
 * request-termination: answers every request itself (maintenance, blocking), optionally
 * only when a trigger header or query argument is present.
 */
import {hostname} from 'node:os'
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
  async access(k, conf) {
    if (conf.trigger && k.header(conf.trigger.toLowerCase()) === undefined && !k.query.has(conf.trigger)) return
    const status: number = conf.status_code
    if (conf.echo) {
      // Kong's echo: the node, the request as the PDK reads it, the matched route and service
      const raw = (await k.body()).toString('utf8')
      const content = {
        message: conf.message ?? DEFAULT_MESSAGE[status] ?? null,
        kong: {worker_pid: process.pid, hostname: hostname()},
        request: {...requestInfo(k), raw_body: raw, body: parsedBody(k.header('content-type'), raw)},
        matched_route: k.route,
        matched_service: k.service,
      }
      return k.exit(status, JSON.stringify(content), {'content-type': 'application/json; charset=utf-8'})
    }
    if (conf.body != null) return k.exit(status, conf.body, conf.content_type ? {'content-type': conf.content_type} : {})
    const message = conf.message ?? DEFAULT_MESSAGE[status]
    // as Kong's `kong.response.exit(status, nil)`: a status with no known message has no body
    // and a known one is `{"message": …}` as `kong.response.exit` writes a table: no request_id
    if (message === undefined) return k.exit(status)
    k.exit(status, JSON.stringify({message}), {'content-type': 'application/json; charset=utf-8'})
  },
}

function requestInfo(k: PluginContext) {
  return {
    scheme: k.scheme,
    host: (k.header('host') ?? '').replace(/:\d+$/, ''),
    port: k.port,
    method: k.method,
    path: k.path,
    headers: k.headers,
    query: queryArgs(k.query),
    uri_captures: uriCaptures(k),
  }
}

/** Kong's `get_query()`: a repeated argument is a list, a bare one `true`. */
function queryArgs(q: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [name, v] of q) out[name] = name in out ? ([] as string[]).concat(out[name], v) : v
  return out
}

function parsedBody(type: string | undefined, raw: string): unknown {
  const t = (type ?? '').split(';')[0].trim().toLowerCase()
  try {
    if (t === 'application/json') return JSON.parse(raw)
    if (t === 'application/x-www-form-urlencoded') return queryArgs(new URLSearchParams(raw))
  } catch {
    return null
  }
  return null
}

/** Kong's `get_uri_captures()`: the groups of the route's regex path that matched. */
function uriCaptures(k: PluginContext): {named: Record<string, string>; unnamed: string[]} {
  for (const p of k.route?.paths ?? []) {
    if (!p.startsWith('~')) continue
    let re: RegExp
    try {
      re = new RegExp(`^(?:${p.slice(1)})`)
    } catch {
      continue
    }
    const m = re.exec(k.path)
    if (!m) continue
    return {named: {...(m.groups ?? {})}, unnamed: m.slice(1).map((v) => v ?? '')}
  }
  return {named: {}, unnamed: []}
}
