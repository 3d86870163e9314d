/**
 * The format of an error the gateway answers itself, negotiated as Kong does
 * (kong/tools/http.lua): the `Accept` value with the highest q (the first of equals) picks
 * JSON, HTML, XML or plain text; `*` and unknown types mean JSON, `text/*` plain text,
 * `application/*` JSON. Without an `Accept`, errors Kong's plugins and router raise are JSON,
 * while the proxy's own failures (502, 504: nginx's error pages in Kong) look at the request's
 * `Content-Type`, then at `error_default_type` (text/plain by default).
 */
export type ErrorFormat = 'json' | 'html' | 'xml' | 'plain'

export const CONTENT_TYPES: Record<ErrorFormat, string> = {
  json: 'application/json; charset=utf-8',
  html: 'text/html; charset=utf-8',
  xml: 'application/xml; charset=utf-8',
  plain: 'text/plain; charset=utf-8',
}

const BY_TYPE: Record<string, ErrorFormat> = {
  'text/html': 'html',
  'application/json': 'json',
  'text/plain': 'plain',
  'application/xml': 'xml',
  application: 'json',
  text: 'plain',
}

// media type, then parameters, of which a q between 0 and 1 (three decimals at most)
const ACCEPT_VALUE = /^((?:[a-z0-9][a-z0-9\-!#$&^_+.]+|\*)\/(?:[a-z0-9][a-z0-9\-!#$&^_+.]+|\*))(?:\s*;\s*q=(1(?:\.0{0,3})?|0(?:\.\d{0,3})?)|\s*;\s*[a-z0-9][a-z0-9\-!#$&^_+.]+(?:=[^;]*)?)*/i

export function negotiateError(accept: string | undefined): ErrorFormat {
  let format: ErrorFormat = 'json'
  if (accept === undefined) return format
  let best = 0
  for (const part of accept.split(',')) {
    const m = ACCEPT_VALUE.exec(part.trim())
    if (!m) continue
    const q = m[2] === undefined ? 1 : Number(m[2])
    if (q > best) {
      best = q
      format = formatOf(m[1])
    }
  }
  return format
}

/** `type/subtype` → a format; `*` subtypes by their type; anything unknown is JSON. */
function formatOf(mediaType: string): ErrorFormat {
  const [type, subtype] = mediaType.toLowerCase().split('/')
  if (subtype === '*') return type === '*' ? 'json' : BY_TYPE[type] ?? 'json'
  return BY_TYPE[`${type}/${subtype}`] ?? 'json'
}

/** kong.conf `error_template_html`, `_json`, `_xml`, `_plain`: the templates' text, by format. */
export type ErrorTemplates = Partial<Record<ErrorFormat, string>>

/**
 * A template's `%` directives, as Lua's `string.format` reads them: `%s` (the message, then
 * the request id) and `%%`; null when it has another one or more than two `%s`, which Kong's
 * `string.format` would fail on or print otherwise.
 */
export function templateDirectiveError(template: string): string | null {
  let values = 0
  for (const m of template.matchAll(/%(.?)/gs)) {
    if (m[1] === '%') continue
    if (m[1] !== 's') return `'%${m[1]}' is not supported`
    if (++values > 2) return 'it has more than two %s'
  }
  return null
}

/** Lua's `string.format(template, message, requestId)` for a template of `%s` and `%%`. */
function formatTemplate(template: string, message: string, requestId: string): string {
  const values = [message, requestId]
  return template.replace(/%([s%])/g, (_, d: string) => (d === '%' ? '%' : values.shift() ?? ''))
}

/** Kong's error templates (message, then request id), or the one kong.conf names for the format. */
export function errorBody(format: ErrorFormat, message: string, requestId: string, templates: ErrorTemplates = {}): string {
  const custom = templates[format]
  if (custom !== undefined) return formatTemplate(custom, message, requestId)
  switch (format) {
    case 'json':
      return `{\n  "message":${JSON.stringify(message)},\n  "request_id":"${requestId}"\n}`
    case 'html':
      return `<!doctype html>\n<html>\n  <head>\n    <meta charset="utf-8">\n    <title>Error</title>\n  </head>\n  <body>\n    <h1>Error</h1>\n    <p>${message}.</p>\n    <p>request_id: ${requestId}</p>\n  </body>\n</html>\n`
    case 'xml':
      return `<?xml version="1.0" encoding="UTF-8"?>\n<error>\n  <message>${message}</message>\n  <requestid>${requestId}</requestid>\n</error>\n`
    case 'plain':
      return `${message}\nrequest_id: ${requestId}\n`
  }
}
