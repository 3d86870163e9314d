/**
 * The request body as key-auth reads it (Kong's `kong.request.get_body()`): a form, a
 * JSON object or a multipart form; any other type, or a body that does not parse, has no
 * key. A name given twice (a repeated form field, a JSON list) has several values.
 */
import type {PluginContext} from '../../pdk/index.js'

export interface KeyBody {
  kind: 'form' | 'json' | 'multipart' | 'none'
  /** Every value of `name`: undefined when absent or not a string (JSON). */
  values(name: string): string[] | undefined
  /** The body without `name`, encoded as it came. */
  without(name: string): Promise<{body: Buffer; contentType?: string}> | {body: Buffer; contentType?: string}
}

const NONE: KeyBody = {kind: 'none', values: () => undefined, without: () => ({body: Buffer.alloc(0)})}

export async function readKeyBody(k: PluginContext): Promise<KeyBody> {
  const raw = await k.body()
  const header = k.header('content-type') ?? ''
  const type = header.split(';')[0].trim().toLowerCase()
  const text = raw.toString('utf8')
  if (type === 'application/x-www-form-urlencoded') {
    const form = new URLSearchParams(text)
    return {
      kind: 'form',
      values: (name) => (form.has(name) ? form.getAll(name) : undefined),
      without(name) {
        const rest = new URLSearchParams(form)
        rest.delete(name)
        return {body: Buffer.from(rest.toString())}
      },
    }
  }
  if (type === 'application/json') {
    let obj: unknown
    try {
      obj = JSON.parse(text)
    } catch {
      return NONE
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return NONE
    const o = obj as Record<string, unknown>
    return {
      kind: 'json',
      values(name) {
        const v = Object.hasOwn(o, name) ? o[name] : undefined
        if (typeof v === 'string') return [v]
        // a list or an object under the key's name: Kong's table, a duplicate
        if (v !== null && typeof v === 'object') return ['', '']
        return undefined
      },
      without(name) {
        const rest = {...o}
        delete rest[name]
        return {body: Buffer.from(JSON.stringify(rest))}
      },
    }
  }
  if (type === 'multipart/form-data') {
    let form: FormData
    try {
      form = await new Response(new Uint8Array(raw), {headers: {'content-type': header}}).formData()
    } catch {
      return NONE
    }
    return {
      kind: 'multipart',
      values(name) {
        const all = form.getAll(name).filter((v): v is string => typeof v === 'string')
        return all.length ? all : undefined
      },
      async without(name) {
        const rest = new FormData()
        for (const [key, v] of form) if (key !== name) rest.append(key, v)
        const encoded = new Response(rest)
        return {body: Buffer.from(await encoded.arrayBuffer()), contentType: encoded.headers.get('content-type') ?? undefined}
      },
    }
  }
  return NONE
}

/** Sends `body` upstream without `name` (hide_credentials). */
export function writeKeyBody(k: PluginContext, body: KeyBody, name: string): void | Promise<void> {
  if (body.kind === 'none') return
  const apply = (out: {body: Buffer; contentType?: string}) => {
    k.setUpstreamBody(out.body)
    if (out.contentType) k.setUpstreamHeader('content-type', out.contentType)
  }
  const out = body.without(name)
  if (out instanceof Promise) return out.then(apply)
  apply(out)
}
