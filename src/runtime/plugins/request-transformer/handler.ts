/**
 * request-transformer: rewrites the upstream request (method, path, headers, query
 * string, form or JSON body) with Kong's operations in Kong's order. The body is only
 * buffered when body operations are configured and the request has one.
 */
import {GATEWAY_VERSION, type PluginContext, type PluginHandler, type ConfigOf} from '../../pdk/index.js'
import {appendString, applyOps, hasOps, objectStore, opsFor, type Store} from '../../pdk/transform.js'
import {schema} from './schema.js'

type Config = ConfigOf<typeof schema>

const asIs = (v: string) => v

function headers(k: PluginContext, conf: Config): void {
  const store: Store<string | string[]> = {
    get: (n) => k.upstreamHeader(n),
    set: (n, v) => k.setUpstreamHeader(n, v),
    remove: (n) => k.setUpstreamHeader(n, null),
  }
  applyOps(store, opsFor(conf, 'headers'), asIs, appendString)
}

function query(k: PluginContext, conf: Config): void {
  const q = new URLSearchParams(k.query)
  applyOps(paramsStore(q), opsFor(conf, 'querystring'), asIs, appendString)
  k.setUpstreamQuery(q)
}

const paramsStore = (p: URLSearchParams): Store<string | string[]> => ({
  get: (n) => {
    const all = p.getAll(n)
    return all.length === 0 ? undefined : all.length === 1 ? all[0] : all
  },
  set: (n, v) => {
    p.delete(n)
    for (const x of Array.isArray(v) ? v : [v]) p.append(n, x)
  },
  remove: (n) => p.delete(n),
})

/** Form and JSON bodies, as Kong transforms them; other content types pass untouched. */
function body(k: PluginContext, conf: Config, raw: Buffer): void {
  const type = (k.header('content-type') ?? '').split(';')[0].trim().toLowerCase()
  if (type === 'application/x-www-form-urlencoded') {
    const form = new URLSearchParams(raw.toString('utf8'))
    applyOps(paramsStore(form), opsFor(conf, 'body'), asIs, appendString)
    return k.setUpstreamBody(Buffer.from(form.toString()))
  }
  if (type === 'application/json') {
    let obj: any
    try {
      obj = raw.length ? JSON.parse(raw.toString('utf8')) : {}
    } catch {
      return
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return
    applyOps(objectStore(obj), opsFor(conf, 'body'), asIs, (old, v) => (old === undefined ? v : [...(Array.isArray(old) ? old : [old]), v]))
    k.setUpstreamBody(Buffer.from(JSON.stringify(obj)))
  }
}

export const handler: PluginHandler<Config> = {
  name: 'request-transformer',
  version: GATEWAY_VERSION,
  priority: 801,
  access(k, conf) {
    if (conf.http_method) k.setUpstreamMethod(conf.http_method)
    if (conf.replace?.uri) k.setUpstreamPath(conf.replace.uri)
    if (hasOps(conf, 'headers')) headers(k, conf)
    if (hasOps(conf, 'querystring')) query(k, conf)
    const hasBody = k.header('content-length') !== undefined || k.header('transfer-encoding') !== undefined
    if (!hasOps(conf, 'body') || !hasBody) return
    const buffered = k.bufferedBody
    if (buffered) return body(k, conf, buffered)
    return k.body().then((raw) => body(k, conf, raw))
  },
}
