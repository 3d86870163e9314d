/**
 * response-transformer: rewrites response headers, and the keys of a JSON response body
 * (which is then buffered), as Kong's header_transformer and body_transformer: Kong's
 * operations in Kong's order (remove ▸ rename ▸ replace ▸ add ▸ append), `name:value`
 * entries split as Kong's `^([^:]+):*(.-)$` (an empty value is none). `json_types` casts
 * the value at the same position to a boolean, number or string. A body is JSON when one
 * of the Content-Type's values is `application/json` or `application/*+json`.
 */
import {GATEWAY_VERSION, type PluginHandler, type ConfigOf} from '../../pdk/index.js'
import {hasOps, splitPair} from '../../pdk/transform.js'
import {schema} from './schema.js'

type Config = ConfigOf<typeof schema>
type Op = 'remove' | 'rename' | 'replace' | 'add' | 'append'

const list = (conf: Config, op: Op, part: 'headers' | 'json'): readonly string[] => ((conf[op] as Record<string, unknown> | null)?.[part] as string[] | undefined) ?? []

/** Kong's iter(): name and value of each entry, the value undefined when empty. */
function* entries(items: readonly string[]): Generator<[number, string, string | undefined]> {
  let i = 0
  for (const e of items) {
    const [name, value] = splitPair(e)
    yield [i++, name, value === '' ? undefined : value]
  }
}

/** Kong's is_json_body: one of the comma-separated types is application/json or application/*+json. */
export function isJsonBody(contentType: string | undefined): boolean {
  if (!contentType) return false
  for (const part of contentType.split(',')) {
    const m = /^\s*([^/\s;]+)\/([^\s;]+)/.exec(part)
    if (!m) continue
    const [type, subtype] = [m[1].toLowerCase(), m[2].toLowerCase()]
    if (type === 'application' && (subtype === 'json' || subtype.endsWith('+json'))) return true
  }
  return false
}

const isBodyTransformSet = (conf: Config) => hasOps(conf, 'json')

/** Kong's json_value: the configured text, cast by its json_type (a number that is none is nil). */
function jsonValue(value: string | undefined, type: string | undefined): unknown {
  // cjson.encode(nil) is `null`, unquoted: Kong sets the text "null"
  const v = value ?? 'null'
  if (type === 'number') {
    const n = Number(v)
    return v.trim() === '' || Number.isNaN(n) ? undefined : n
  }
  if (type === 'boolean') return v === 'true'
  return v
}

/** Lua truthiness of a decoded JSON value (null decodes to cjson.null, which is truthy). */
const truthy = (v: unknown) => v !== undefined && v !== false

/** Kong's transform_json_body; null when the body is not JSON (it is then left as it is). */
export function transformJsonBody(conf: Config, raw: Buffer): Buffer | null {
  let body: unknown
  try {
    body = JSON.parse(raw.toString('utf8'))
  } catch {
    return null
  }
  if (body === null || typeof body !== 'object') return null
  const json = body as Record<string, unknown>
  const get = (n: string) => (Object.hasOwn(json, n) ? json[n] : undefined)
  for (const [, name] of entries(list(conf, 'remove', 'json'))) delete json[name]
  for (const [, from, to] of entries(list(conf, 'rename', 'json'))) {
    if (get(from) !== undefined && to !== undefined) {
      const v = json[from]
      json[to] = v
      delete json[from]
    }
  }
  for (const [i, name, value] of entries(list(conf, 'replace', 'json'))) {
    const v = jsonValue(value, conf.replace?.json_types?.[i])
    if (truthy(get(name)) && v !== undefined) json[name] = v
  }
  for (const [i, name, value] of entries(list(conf, 'add', 'json'))) {
    const v = jsonValue(value, conf.add?.json_types?.[i])
    if (!truthy(get(name)) && v !== undefined) json[name] = v
  }
  for (const [i, name, value] of entries(list(conf, 'append', 'json'))) {
    const v = jsonValue(value, conf.append?.json_types?.[i])
    if (v === undefined) continue
    const old = get(name)
    json[name] = typeof old === 'string' ? [old, v] : Array.isArray(old) ? [...old, v] : [v]
  }
  return Buffer.from(JSON.stringify(json))
}

/** Kong's transform_headers, over the response's headers (names in lower case). */
export function transformHeaders(conf: Config, headers: Record<string, string | string[] | undefined>): void {
  const key = (n: string) => n.toLowerCase()
  for (const [, name] of entries(list(conf, 'remove', 'headers'))) delete headers[key(name)]
  for (const [, from, to] of entries(list(conf, 'rename', 'headers'))) {
    const v = headers[key(from)]
    if (v === undefined || to === undefined) continue
    headers[key(to)] = v
    if (key(from) !== key(to)) delete headers[key(from)]
  }
  for (const [, name, value] of entries(list(conf, 'replace', 'headers'))) if (headers[key(name)] !== undefined && value !== undefined) headers[key(name)] = value
  for (const [, name, value] of entries(list(conf, 'add', 'headers'))) if (headers[key(name)] === undefined && value !== undefined) headers[key(name)] = value
  for (const [, name, value] of entries(list(conf, 'append', 'headers'))) {
    if (value === undefined) continue
    const old = headers[key(name)]
    headers[key(name)] = old === undefined ? [value] : [...(Array.isArray(old) ? old : [old]), value]
  }
}

export const handler: PluginHandler<Config> = {
  name: 'response-transformer',
  version: GATEWAY_VERSION,
  priority: 800,
  response(k, conf) {
    const headers = k.response!.headers
    transformHeaders(conf, headers)
    const type = headers['content-type']
    if (isBodyTransformSet(conf) && isJsonBody(Array.isArray(type) ? type.join(', ') : type)) {
      k.transformResponseBody((raw) => transformJsonBody(conf, raw) ?? raw)
    }
  },
}
