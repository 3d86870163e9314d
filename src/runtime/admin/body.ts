/**
 * Request bodies and query strings as Kong's Admin API reads them: JSON, or
 * form-urlencoded where `paths[]=/a`, `paths[1]=/a`, `service.id=…` and
 * `config.minute=5` build arrays and nested objects.
 */
import type {IncomingMessage} from 'node:http'
import {gunzipSync} from 'node:zlib'
import {CONF_KEYS} from '../conf/defaults.js'

export class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/** Kong's admin default is 10m; 16 MiB leaves room for big plugin configs. */
export const MAX_BODY = 16 * 1024 * 1024
/** Whole-configuration endpoints (`/kctl/sync`, DB-less `/config`): after decompression. */
export const MAX_CONFIG_BODY = 256 * 1024 * 1024
/** Entities one whole-configuration request may carry: `kctl_max_config_entities`'s default. */
export const MAX_CONFIG_ENTITIES: number = CONF_KEYS.kctl_max_config_entities.default

/**
 * Refuses a configuration with more than `limit` entities, counted right after parsing,
 * before anything is validated: past it validation takes seconds and memory grows with it.
 * @throws BodyError 413 naming the limit and the conf key that raises it
 */
export function checkEntityLimit(count: number, limit = MAX_CONFIG_ENTITIES): void {
  if (count > limit) {
    throw new BodyError(413, `declarative configuration has ${count} entities, over the limit of ${limit} (set kctl_max_config_entities in kong.conf to raise it)`)
  }
}

/** Past this many bytes of an oversized body the connection is cut instead of drained. */
const DRAIN_CAP = 1024 * 1024 * 1024

/**
 * The raw body, gunzipped when `Content-Encoding: gzip`. An oversized body is read to its
 * end and discarded before the 413 goes out, so the connection is never cut under a
 * client still sending (it would see a reset instead of the error) and stays reusable.
 * @throws BodyError 413 past `limit` (compressed or not), 415 for another encoding
 */
export async function readRawBody(req: IncomingMessage, limit = MAX_BODY): Promise<Buffer> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase()
  const raw = await collect(req, limit)
  if (encoding === 'identity') return raw
  if (encoding !== 'gzip') throw new BodyError(415, `Unsupported Content-Encoding '${encoding}'`)
  try {
    return gunzipSync(raw, {maxOutputLength: limit})
  } catch (err) {
    if ((err as {code?: string}).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(limit)
    throw new BodyError(400, 'Cannot decompress gzip body')
  }
}

const tooLarge = (limit: number) => new BodyError(413, `Request body too large (limit ${Math.round(limit / 1024 / 1024)} MiB)`)

function collect(req: IncomingMessage, limit: number): Promise<Buffer> {
  // Already read (a second call for the same request): nothing more will arrive.
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0))
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > DRAIN_CAP) req.destroy()
      else if (size > limit) chunks.length = 0
      else chunks.push(chunk)
    })
    req.on('end', () => (size > limit ? reject(tooLarge(limit)) : resolve(Buffer.concat(chunks))))
    req.on('error', reject)
    req.on('close', () => reject(new BodyError(400, 'Request body not received in full')))
  })
}

/**
 * A write's body as Kong's Admin API takes it (`kong/api/api_helpers.lua`): JSON, a form
 * (urlencoded or multipart) or nothing. A body without a Content-Type, or with another
 * type, is a 415; `application/json` with an empty or unparsable body is a 400.
 */
export async function readBody(req: IncomingMessage, limit = MAX_BODY): Promise<{body: Record<string, unknown>; form: boolean}> {
  const buf = await readRawBody(req, limit)
  const raw = buf.toString('utf8')
  const header = req.headers['content-type'] ?? ''
  const type = header.split(';')[0].trim().toLowerCase()
  if (type === 'application/json') {
    let parsed: unknown
    try {
      parsed = JSON.parse(raw)
    } catch {
      throw new BodyError(400, 'Cannot parse JSON body')
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new BodyError(400, 'Cannot parse JSON body')
    return {body: parsed as Record<string, unknown>, form: false}
  }
  if (raw === '' && (type === '' || type === 'application/x-www-form-urlencoded' || type === 'multipart/form-data')) return {body: {}, form: true}
  if (type === 'application/x-www-form-urlencoded') return {body: decodeForm(new URLSearchParams(raw)), form: true}
  if (type === 'multipart/form-data') return {body: decodeForm(await multipartParams(buf, header)), form: true}
  throw new BodyError(415, `Unsupported Content-Type${type ? ` '${type}'` : ' (none sent)'}: send application/json, application/x-www-form-urlencoded or multipart/form-data`)
}

/** The fields of a multipart/form-data body, in order; a file part gives its content as text. */
async function multipartParams(buf: Buffer, contentType: string): Promise<URLSearchParams> {
  let data: FormData
  try {
    data = await new Response(new Uint8Array(buf), {headers: {'content-type': contentType}}).formData()
  } catch {
    throw new BodyError(400, 'Cannot parse multipart/form-data body')
  }
  const params = new URLSearchParams()
  for (const [k, v] of data) params.append(k, typeof v === 'string' ? v : await v.text())
  return params
}

/** `a.b[]=1&a.b[]=2&c[2]=x` → `{a: {b: ['1','2']}, c: [ , 'x']}`. */
export function decodeForm(params: URLSearchParams): Record<string, unknown> {
  // Objects without a prototype: a key such as `__proto__.x` or `constructor.prototype.x`
  // becomes a field of that name (refused later as unknown), never a change to Object.prototype.
  const out: Record<string, unknown> = Object.create(null)
  for (const [key, value] of params) {
    const parts = key.split(/\.|(?=\[)/).map((p) => p.replace(/^\[|\]$/g, ''))
    let node: FormNode = out
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]
      const last = i === parts.length - 1
      const next = parts[i + 1]
      const isIndex = (s: string | undefined) => s === '' || (s !== undefined && /^\d+$/.test(s))
      if (Array.isArray(node)) {
        const idx = part === '' ? node.length : Number(part) - 1
        if (!(idx >= 0 && idx < MAX_FORM_INDEX)) throw new BodyError(400, `invalid form field '${key}': an index must be between 1 and ${MAX_FORM_INDEX}`)
        if (last) node[idx] = value
        else node = (node[idx] ??= isIndex(next) ? [] : Object.create(null)) as FormNode
      } else if (last) {
        // a repeated plain key (`hosts=a&hosts=b`) becomes an array
        node[part] = part in node ? ([] as unknown[]).concat(node[part], value) : value
      } else {
        node = (node[part] ??= isIndex(next) ? [] : Object.create(null)) as FormNode
      }
    }
  }
  return compact(out) as Record<string, unknown>
}

/** A level of a form being decoded: a list (`a[1]`, `a[]`) or a record (`a.b`). */
type FormNode = unknown[] | Record<string, unknown>

/** Highest 1-based index a form key may use (`paths[3]=…`); a larger one would only make a sparse array. */
const MAX_FORM_INDEX = 10_000

/** Removes holes left by 1-based indexes (`paths[1]=`). */
function compact(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => x !== undefined).map(compact)
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, compact(x)]))
  return v
}
