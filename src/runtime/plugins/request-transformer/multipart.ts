/**
 * A multipart/form-data body as Kong's `multipart` library handles it for
 * request-transformer: its parts in order, each with its header lines and its bytes
 * untouched (files too), written back with the body's own boundary so the request's
 * Content-Type stays true. Bytes are kept as latin1 strings (one char per byte).
 */

export interface MultipartPart {
  name: string | undefined
  /** Header lines, as received (`Content-Disposition: form-data; name="a"`…). */
  headers: string[]
  /** The part's bytes, one char per byte. */
  value: string
}

export interface MultipartBody {
  boundary: string
  parts: MultipartPart[]
}

/** The boundary of a multipart Content-Type, or undefined when there is none. */
export function multipartBoundary(contentType: string): string | undefined {
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType)
  return m ? (m[1] ?? m[2]) : undefined
}

const partName = (headers: string[]): string | undefined => {
  for (const h of headers) {
    if (!/^content-disposition\s*:/i.test(h)) continue
    const m = /;\s*name=(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/i.exec(h)
    if (m) return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]
  }
  return undefined
}

/** The parts of `raw`; null when it is not a multipart body with that boundary (it is then left alone). */
export function parseMultipart(raw: Buffer, contentType: string): MultipartBody | null {
  const boundary = multipartBoundary(contentType)
  if (!boundary) return null
  const text = raw.toString('latin1')
  const parts: MultipartPart[] = []
  if (text.trim() === '') return {boundary, parts}
  const delim = `--${boundary}`
  let at = text.indexOf(delim)
  if (at < 0) return null
  for (;;) {
    at += delim.length
    if (text.startsWith('--', at)) return {boundary, parts}
    const start = text.indexOf('\r\n', at)
    if (start < 0) return null
    const end = text.indexOf(`\r\n${delim}`, start + 2)
    if (end < 0) return null
    const part = text.slice(start + 2, end)
    const split = part.indexOf('\r\n\r\n')
    const head = split < 0 ? part : part.slice(0, split)
    const headers = head === '' ? [] : head.split('\r\n')
    parts.push({name: partName(headers), headers, value: split < 0 ? '' : part.slice(split + 4)})
    at = end + 2
  }
}

const latin1 = (utf8: string) => Buffer.from(utf8, 'utf8').toString('latin1')

/** The part named `name` (names given as text, compared as the body's bytes). */
export const multipartGet = (body: MultipartBody, name: string) => body.parts.find((p) => p.name === latin1(name))

export function multipartDelete(body: MultipartBody, name: string): void {
  body.parts = body.parts.filter((p) => p.name !== latin1(name))
}

/**
 * The library's set_simple: replaces the part of that name by a plain field, else adds one
 * at the end. `value` is text, or `{bytes}` a part's value as kept (a renamed field).
 */
export function multipartSetSimple(body: MultipartBody, name: string, value: string | {bytes: string}): void {
  const key = latin1(name)
  const part: MultipartPart = {name: key, headers: [`Content-Disposition: form-data; name="${key}"`], value: typeof value === 'string' ? latin1(value) : value.bytes}
  const i = body.parts.findIndex((p) => p.name === key)
  if (i < 0) body.parts.push(part)
  else body.parts[i] = part
}

export function writeMultipart(body: MultipartBody): Buffer {
  const delim = `--${body.boundary}`
  const out = body.parts.map((p) => `${delim}\r\n${p.headers.join('\r\n')}\r\n\r\n${p.value}\r\n`).join('') + `${delim}--\r\n`
  return Buffer.from(out, 'latin1')
}
