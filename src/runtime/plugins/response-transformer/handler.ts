/**
 * response-transformer: rewrites response headers, and the keys of a JSON response body
 * (which is then buffered), with Kong's operations in Kong's order. `json_types` casts
 * the value at the same position to a boolean, number or string.
 */
import {GATEWAY_VERSION, type PluginHandler, type ConfigOf} from '../../pdk/index.js'
import {appendString, applyOps, hasOps, objectStore, opsFor, type Store} from '../../pdk/transform.js'
import {schema} from './schema.js'

type Config = ConfigOf<typeof schema>

const CASTS: Record<string, (v: string) => unknown> = {
  boolean: (v) => v.toLowerCase() === 'true',
  number: (v) => Number(v),
  string: (v) => v,
}

const typed = (types: string[] | undefined) => (v: string, i: number) => (CASTS[types?.[i] ?? 'string'] ?? CASTS.string)(v)

function transformJson(conf: Config, raw: Buffer): Buffer {
  let obj: unknown
  try {
    obj = JSON.parse(raw.toString('utf8'))
  } catch {
    return raw
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return raw
  const store = objectStore(obj as Record<string, unknown>)
  const ops = opsFor(conf, 'json')
  const append = (old: unknown, v: unknown) => (old === undefined ? [v] : [...(Array.isArray(old) ? old : [old]), v])
  // json_types are per operation: replace, add and append each cast with their own list.
  applyOps(store, {remove: ops.remove, rename: ops.rename}, String, append)
  applyOps(store, {replace: ops.replace}, typed(conf.replace?.json_types), append)
  applyOps(store, {add: ops.add}, typed(conf.add?.json_types), append)
  applyOps(store, {append: ops.append}, typed(conf.append?.json_types), append)
  return Buffer.from(JSON.stringify(obj))
}

export const handler: PluginHandler<Config> = {
  name: 'response-transformer',
  version: GATEWAY_VERSION,
  priority: 800,
  response(k, conf) {
    const headers = k.response!.headers
    if (hasOps(conf, 'headers')) {
      const store: Store<string | string[]> = {
        get: (n) => headers[n.toLowerCase()],
        set: (n, v) => void (headers[n.toLowerCase()] = v),
        remove: (n) => void delete headers[n.toLowerCase()],
      }
      applyOps(store, opsFor(conf, 'headers'), (v) => v, appendString)
    }
    const type = String(headers['content-type'] ?? '').toLowerCase()
    if (hasOps(conf, 'json') && type.includes('application/json')) k.transformResponseBody((raw) => transformJson(conf, raw))
  },
}
