/**
 * request-transformer: rewrites the upstream request as Kong's access.lua does, in its
 * order (uri, method, headers, body, query string), each part with Kong's operations in
 * Kong's order (remove ▸ rename ▸ replace ▸ add ▸ append). Values are templates
 * (`$(headers.x)`, `$(query_params.y)`, `$(uri_captures.z)`, `$(shared.w)`: template.ts).
 * The body is read only when body operations are configured and its type is JSON, a
 * form or multipart/form-data; a GET/HEAD/TRACE `http_method` moves a form body's fields into the query string.
 */
import {GATEWAY_VERSION, type PluginContext, type PluginHandler, type ConfigOf} from '../../pdk/index.js'
import {splitPair} from '../../pdk/transform.js'
import {schema} from './schema.js'
import {isTemplate, renderTemplate, type Env} from './template.js'
import {multipartDelete, multipartGet, multipartSetSimple, parseMultipart, writeMultipart} from './multipart.js'

type Config = ConfigOf<typeof schema>
type Part = 'headers' | 'querystring' | 'body'
type Val = string | string[]

const list = (conf: Config, op: 'remove' | 'rename' | 'replace' | 'add' | 'append', part: Part): readonly string[] => ((conf[op] as Record<string, unknown> | null)?.[part] as string[] | undefined) ?? []

/** The values templates read, loaded when first used (Kong's lazy template environment). */
function templateEnv(k: PluginContext): Env {
  const cache: Env = {}
  const loaders: Record<string, () => unknown> = {
    headers: () => {
      const h: Record<string, Val> = {}
      const distinct = k.headersDistinct
      for (const [name, v] of Object.entries(k.headers)) if (v !== undefined) h[name] = Array.isArray(v) ? v : (distinct[name]?.length ?? 0) > 1 ? distinct[name]! : v
      // ngx.req.get_headers(): any case, `_` for `-`
      return new Proxy(h, {get: (t, p) => (typeof p === 'string' ? t[p] ?? t[p.toLowerCase().replaceAll('_', '-')] : undefined)})
    },
    query_params: () => queryObject(k.query),
    uri_captures: () => k.uriCaptures,
    shared: () => k.shared,
  }
  return new Proxy(cache, {
    get: (t, p) => {
      if (typeof p !== 'string') return undefined
      if (!(p in t) && loaders[p]) t[p] = loaders[p]()
      return t[p]
    },
  })
}

function queryObject(q: URLSearchParams): Record<string, Val> {
  const out: Record<string, Val> = {}
  for (const [name, v] of q) {
    const old = out[name]
    out[name] = old === undefined ? v : [...(Array.isArray(old) ? old : [old]), v]
  }
  return out
}

/** Kong's iter(): name and rendered value of each `name:value`. */
function* pairs(entries: readonly string[], env: Env): Generator<[string, string | undefined]> {
  for (const e of entries) {
    const [name, value] = splitPair(e)
    if (value === '') {
      yield [name, undefined]
      continue
    }
    try {
      yield [name, isTemplate(value) ? renderTemplate(value, env) : value]
    } catch (err) {
      throw new Error(`[request-transformer] failed to render the template ${value}, error:${(err as Error).message}`)
    }
  }
}

/** Kong's append_value: a string becomes a list of two, a list grows, anything else starts one. */
function appendValue(current: unknown, value: unknown): unknown[] {
  if (typeof current === 'string') return [current, value]
  if (Array.isArray(current)) return [...current, value]
  return [value]
}

const truthy = (v: unknown) => v !== undefined && v !== null && v !== false

function transformUri(k: PluginContext, conf: Config, env: Env): void {
  const uri = conf.replace?.uri
  if (!uri) return
  let res: string
  try {
    res = renderTemplate(uri, env)
  } catch (err) {
    throw new Error(`[request-transformer] failed to render the template ${uri}, error:${(err as Error).message}`)
  }
  k.setUpstreamPath(res)
}

type BodyKind = 'json' | 'multi_part' | 'form_encoded'
function contentKind(type: string | undefined): BodyKind | undefined {
  if (type === undefined) return undefined
  const t = type.toLowerCase()
  if (t.includes('application/json')) return 'json'
  if (t.includes('multipart/form-data')) return 'multi_part'
  if (t.includes('application/x-www-form-urlencoded')) return 'form_encoded'
  return undefined
}

const hasBody = (k: PluginContext) => k.header('content-length') !== undefined || k.header('transfer-encoding') !== undefined
const readBody = (k: PluginContext): Buffer | Promise<Buffer> => k.bufferedBody ?? (hasBody(k) ? k.body() : Buffer.alloc(0))

function transformMethod(k: PluginContext, conf: Config): void | Promise<void> {
  if (!conf.http_method) return
  const method = conf.http_method.toUpperCase()
  k.setUpstreamMethod(method)
  if (!['GET', 'HEAD', 'TRACE'].includes(method) || contentKind(k.header('content-type')) !== 'form_encoded') return
  // the form body's fields go to the query string too
  const move = (raw: Buffer) => {
    const form = new URLSearchParams(raw.toString('utf8'))
    if (form.size === 0) return
    const q = new URLSearchParams(k.query)
    for (const [name, v] of form) q.append(name, v)
    k.setUpstreamQuery(q)
  }
  const raw = readBody(k)
  return raw instanceof Promise ? raw.then(move) : move(raw)
}

function transformHeaders(k: PluginContext, conf: Config, env: Env): void {
  const get = (n: string) => k.upstreamHeader(n.toLowerCase())
  const set = (n: string, v: Val | null) => k.setUpstreamHeader(n.toLowerCase(), v)
  for (const [name] of pairs(list(conf, 'remove', 'headers'), env)) if (get(name) !== undefined && name.toLowerCase() !== 'host') set(name, null)
  for (const [from, to] of pairs(list(conf, 'rename', 'headers'), env)) {
    if (to === undefined || from.toLowerCase() === to.toLowerCase()) continue
    const v = get(from)
    if (v === undefined || from.toLowerCase() === 'host') continue
    set(from, null)
    set(to, v)
  }
  for (const [name, v] of pairs(list(conf, 'replace', 'headers'), env)) {
    if (v === undefined) continue
    if (get(name) !== undefined || name.toLowerCase() === 'host') set(name, v)
  }
  for (const [name, v] of pairs(list(conf, 'add', 'headers'), env)) {
    if (v === undefined) continue
    if (get(name) === undefined && name.toLowerCase() !== 'host') set(name, v)
  }
  for (const [name, v] of pairs(list(conf, 'append', 'headers'), env)) {
    if (v === undefined || name.toLowerCase() === 'host') continue
    set(name, appendValue(get(name), v) as string[])
  }
}

function transformQuery(k: PluginContext, conf: Config, env: Env): void {
  const parts = ['remove', 'rename', 'replace', 'add', 'append'] as const
  if (!parts.some((op) => list(conf, op, 'querystring').length > 0)) return
  // a copy of the arguments as they stand (with what the method step moved in)
  const q: Record<string, unknown> = {...queryObject(k.query)}
  for (const [name] of pairs(list(conf, 'remove', 'querystring'), env)) delete q[name]
  for (const [from, to] of pairs(list(conf, 'rename', 'querystring'), env)) rename(q, from, to)
  for (const [name, v] of pairs(list(conf, 'replace', 'querystring'), env)) if (truthy(q[name])) q[name] = v
  for (const [name, v] of pairs(list(conf, 'add', 'querystring'), env)) if (!truthy(q[name])) q[name] = v
  for (const [name, v] of pairs(list(conf, 'append', 'querystring'), env)) q[name] = appendValue(q[name], v)
  const upstream = new URLSearchParams()
  for (const [name, v] of Object.entries(q)) if (v !== undefined) for (const x of Array.isArray(v) ? v : [v]) upstream.append(name, String(x))
  k.setUpstreamQuery(upstream)
}

function rename(tbl: Record<string, unknown>, from: string, to: string | undefined): boolean {
  if (to === undefined || from === to) return false
  const v = tbl[from]
  if (!truthy(v)) return false
  delete tbl[from]
  tbl[to] = v
  return true
}

/**
 * Kong's transform_multipart_body: rename ▸ remove ▸ replace ▸ add (the library has no
 * append: `append.body` leaves a multipart body as it is); other parts, files included,
 * are kept byte for byte, under the body's own boundary. Null for unchanged.
 */
function transformMultipartBody(conf: Config, env: Env, raw: Buffer, contentType: string): Buffer | null {
  const body = parseMultipart(raw, contentType)
  if (!body) return null
  const length = raw.length
  let changed = false
  if (length > 0) {
    for (const [from, to] of pairs(list(conf, 'rename', 'body'), env)) {
      const part = multipartGet(body, from)
      if (part && to !== undefined && from !== to) {
        multipartSetSimple(body, to, {bytes: part.value})
        multipartDelete(body, from)
        changed = true
      }
    }
    for (const [name] of pairs(list(conf, 'remove', 'body'), env)) {
      multipartDelete(body, name)
      changed = true
    }
    for (const [name, v] of pairs(list(conf, 'replace', 'body'), env)) {
      if (v !== undefined && multipartGet(body, name)) {
        multipartDelete(body, name)
        multipartSetSimple(body, name, v)
        changed = true
      }
    }
  }
  for (const [name, v] of pairs(list(conf, 'add', 'body'), env)) {
    if (v !== undefined && !multipartGet(body, name)) {
      multipartSetSimple(body, name, v)
      changed = true
    }
  }
  return changed ? writeMultipart(body) : null
}

/** Kong's transform_json_body / transform_url_encoded_body / transform_multipart_body: the new body, or null for unchanged. */
function transformBody(conf: Config, env: Env, kind: BodyKind, raw: Buffer, contentType: string): Buffer | null {
  if (kind === 'multi_part') return transformMultipartBody(conf, env, raw, contentType)
  const length = raw.length
  let params: Record<string, unknown>
  if (kind === 'json') {
    let parsed: unknown
    try {
      parsed = length ? JSON.parse(raw.toString('utf8')) : undefined
    } catch {
      return null
    }
    if (parsed === undefined || parsed === null) params = {}
    else if (typeof parsed !== 'object') return null
    else params = parsed as Record<string, unknown>
  } else if (kind === 'form_encoded') {
    params = queryObject(new URLSearchParams(raw.toString('utf8')))
  } else return null
  let changed = false
  if (length > 0) {
    for (const [name] of pairs(list(conf, 'remove', 'body'), env)) {
      delete params[name]
      changed = true
    }
    for (const [from, to] of pairs(list(conf, 'rename', 'body'), env)) changed = rename(params, from, to) || changed
    for (const [name, v] of pairs(list(conf, 'replace', 'body'), env)) {
      if (truthy(params[name])) {
        params[name] = v
        changed = true
      }
    }
  }
  for (const [name, v] of pairs(list(conf, 'add', 'body'), env)) {
    if (kind === 'json' ? !truthy(params[name]) : params[name] === undefined) {
      params[name] = v
      changed = true
    }
  }
  for (const [name, v] of pairs(list(conf, 'append', 'body'), env)) {
    params[name] = appendValue(params[name], v)
    changed = true
  }
  if (!changed) return null
  if (kind === 'json') return Buffer.from(JSON.stringify(params))
  const form = new URLSearchParams()
  for (const [name, v] of Object.entries(params)) if (v !== undefined) for (const x of Array.isArray(v) ? v : [v]) form.append(name, String(x))
  return Buffer.from(form.toString())
}

function hasBodyOps(conf: Config): boolean {
  return (['remove', 'rename', 'replace', 'add', 'append'] as const).some((op) => list(conf, op, 'body').length > 0)
}

export const handler: PluginHandler<Config> = {
  name: 'request-transformer',
  version: GATEWAY_VERSION,
  priority: 801,
  access(k, conf) {
    const env = templateEnv(k)
    transformUri(k, conf, env)
    const rest = () => {
      transformHeaders(k, conf, env)
      const kind = contentKind(k.header('content-type'))
      if (kind === undefined || !hasBodyOps(conf)) return transformQuery(k, conf, env)
      const apply = (raw: Buffer) => {
        const body = transformBody(conf, env, kind, raw, k.header('content-type') ?? '')
        if (body) k.setUpstreamBody(body)
        transformQuery(k, conf, env)
      }
      const raw = readBody(k)
      return raw instanceof Promise ? raw.then(apply) : apply(raw)
    }
    const moved = transformMethod(k, conf)
    return moved instanceof Promise ? moved.then(rest) : rest()
  },
}
