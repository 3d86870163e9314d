/**
 * Request bodies and query strings as Kong's Admin API reads them: JSON, or
 * form-urlencoded where `paths[]=/a`, `paths[1]=/a`, `service.id=…` and
 * `config.minute=5` build arrays and nested objects.
 */
import type {IncomingMessage} from 'node:http'

export class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

const MAX_BODY = 16 * 1024 * 1024

export async function readBody(req: IncomingMessage): Promise<{body: Record<string, any>; form: boolean}> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += chunk.length
    if (size > MAX_BODY) throw new BodyError(413, 'Request body too large')
    chunks.push(chunk)
  }
  const raw = Buffer.concat(chunks).toString('utf8')
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
  if (raw.trim() === '') return {body: {}, form: type !== 'application/json'}
  if (type === 'application/json' || (type === '' && /^\s*[{[]/.test(raw))) {
    let parsed: unknown
    try {
      parsed = JSON.parse(raw)
    } catch {
      throw new BodyError(400, 'Cannot parse JSON body')
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new BodyError(400, 'Cannot parse JSON body')
    return {body: parsed as Record<string, any>, form: false}
  }
  if (type === 'application/x-www-form-urlencoded' || type === '') {
    return {body: decodeForm(new URLSearchParams(raw)), form: true}
  }
  if (type === 'multipart/form-data') throw new BodyError(415, 'Unsupported Content-Type')
  throw new BodyError(415, 'Unsupported Content-Type')
}

/** `a.b[]=1&a.b[]=2&c[2]=x` → `{a: {b: ['1','2']}, c: [ , 'x']}`. */
export function decodeForm(params: URLSearchParams): Record<string, any> {
  const out: Record<string, any> = {}
  for (const [key, value] of params) {
    const parts = key.split(/\.|(?=\[)/).map((p) => p.replace(/^\[|\]$/g, ''))
    let node: any = out
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]
      const last = i === parts.length - 1
      const next = parts[i + 1]
      const isIndex = (s: string | undefined) => s === '' || (s !== undefined && /^\d+$/.test(s))
      if (Array.isArray(node)) {
        const idx = part === '' ? node.length : Number(part) - 1
        if (last) node[idx] = value
        else node = node[idx] ??= isIndex(next) ? [] : {}
      } else if (last) {
        // a repeated plain key (`hosts=a&hosts=b`) becomes an array
        node[part] = part in node ? [].concat(node[part], value as any) : value
      } else {
        node = node[part] ??= isIndex(next) ? [] : {}
      }
    }
  }
  return compact(out)
}

/** Removes holes left by 1-based indexes (`paths[1]=`). */
function compact(v: any): any {
  if (Array.isArray(v)) return v.filter((x) => x !== undefined).map(compact)
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, compact(x)]))
  return v
}
