/**
 * Header rewriting between client and upstream, as Kong's runloop does with no
 * `trusted_ips` configured: client-sent X-Forwarded-Proto/Host/Port/Path/Prefix are
 * replaced by what this node saw; X-Forwarded-For is appended to.
 */
import type {IncomingHttpHeaders, IncomingMessage} from 'node:http'

/** RFC 9110 §7.6.1 plus the de-facto ones; never forwarded in either direction. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'])

export interface ForwardInfo {
  remoteAddress: string
  scheme: 'http' | 'https'
  /** Host header without port. */
  host: string
  localPort: number
  /** Request path without the query string, as received. */
  path: string
  /** Path prefix stripped by the route, if any. */
  prefix: string | null
  /** Host header for the upstream request. */
  upstreamHost: string
  requestId: string
}

export function upstreamRequestHeaders(req: IncomingMessage, f: ForwardInfo): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  const extraHop = connectionTokens(req.headers)
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || extraHop?.has(k) || k === 'host') continue
    out[k] = v
  }
  const xff = req.headers['x-forwarded-for']
  out['x-forwarded-for'] = xff ? `${Array.isArray(xff) ? xff.join(', ') : xff}, ${f.remoteAddress}` : f.remoteAddress
  out['x-forwarded-proto'] = f.scheme
  out['x-forwarded-host'] = f.host
  out['x-forwarded-port'] = String(f.localPort)
  out['x-forwarded-path'] = f.path
  if (f.prefix) out['x-forwarded-prefix'] = f.prefix
  else delete out['x-forwarded-prefix']
  out['x-real-ip'] = f.remoteAddress
  out['x-kong-request-id'] = f.requestId
  out.host = f.upstreamHost
  return out
}

/** Upstream response headers minus hop-by-hop ones; `Server` passes through. */
export function clientResponseHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  const extraHop = connectionTokens(headers)
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || extraHop?.has(k)) continue
    out[k] = v
  }
  return out
}

/** Headers named in `Connection: a, b` are hop-by-hop too. */
function connectionTokens(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Set<string> | null {
  const c = headers.connection
  if (!c) return null
  const s = (Array.isArray(c) ? c.join(',') : c).toLowerCase()
  if (s === 'keep-alive' || s === 'close') return null
  return new Set(s.split(',').map((x) => x.trim()).filter(Boolean))
}

/** `host` without a trailing `:digits` (as `/:\d+$/`), without a regex. */
export function stripPort(host: string): string {
  const i = host.lastIndexOf(':')
  if (i < 0 || i === host.length - 1) return host
  for (let j = i + 1; j < host.length; j++) {
    const c = host.charCodeAt(j)
    if (c < 48 || c > 57) return host
  }
  return host.slice(0, i)
}


// Bits for the headers this node sets upstream, in the order they are appended when the
// client did not send them (the order `upstreamRequestHeaders` produces).
const U_XFF = 1, U_PROTO = 2, U_HOST = 4, U_PORT = 8, U_PATH = 16, U_PREFIX = 32, U_REAL = 64, U_ID = 128

/**
 * `upstreamRequestHeaders` as a flat `[name, value, …]` array (undici takes one as is):
 * the same names, values and order, without the intermediate object and `Object.entries`.
 */
export function upstreamRequestHeaderList(req: IncomingMessage, f: ForwardInfo): Array<string | string[]> {
  const h = req.headers
  const out: Array<string | string[]> = []
  const extraHop = h.connection === undefined ? null : connectionTokens(h)
  const xff = h['x-forwarded-for']
  const xffValue = xff ? `${Array.isArray(xff) ? xff.join(', ') : xff}, ${f.remoteAddress}` : f.remoteAddress
  let seen = 0
  for (const k in h) {
    const v = h[k]
    if (v === undefined || HOP_BY_HOP.has(k) || extraHop?.has(k)) continue
    switch (k) {
      case 'host': continue
      case 'x-forwarded-for': seen |= U_XFF; out.push(k, xffValue); continue
      case 'x-forwarded-proto': seen |= U_PROTO; out.push(k, f.scheme); continue
      case 'x-forwarded-host': seen |= U_HOST; out.push(k, f.host); continue
      case 'x-forwarded-port': seen |= U_PORT; out.push(k, String(f.localPort)); continue
      case 'x-forwarded-path': seen |= U_PATH; out.push(k, f.path); continue
      case 'x-forwarded-prefix':
        seen |= U_PREFIX
        if (f.prefix) out.push(k, f.prefix)
        continue
      case 'x-real-ip': seen |= U_REAL; out.push(k, f.remoteAddress); continue
      case 'x-kong-request-id': seen |= U_ID; out.push(k, f.requestId); continue
    }
    out.push(k, v)
  }
  if (!(seen & U_XFF)) out.push('x-forwarded-for', xffValue)
  if (!(seen & U_PROTO)) out.push('x-forwarded-proto', f.scheme)
  if (!(seen & U_HOST)) out.push('x-forwarded-host', f.host)
  if (!(seen & U_PORT)) out.push('x-forwarded-port', String(f.localPort))
  if (!(seen & U_PATH)) out.push('x-forwarded-path', f.path)
  if (!(seen & U_PREFIX) && f.prefix) out.push('x-forwarded-prefix', f.prefix)
  if (!(seen & U_REAL)) out.push('x-real-ip', f.remoteAddress)
  if (!(seen & U_ID)) out.push('x-kong-request-id', f.requestId)
  out.push('host', f.upstreamHost)
  return out
}

const R_VIA = 1, R_UP = 2, R_PROXY = 4, R_ID = 8

/**
 * The client response headers when no plugin touches them, as a flat array for
 * `writeHead`: `clientResponseHeaders` plus Via and the X-Kong-* headers, same names,
 * values and order as setting them on that object.
 */
export function clientResponseHeaderList(
  headers: Record<string, string | string[] | undefined>,
  via: string,
  upstreamLatency: string,
  proxyLatency: string,
  requestId: string,
): Array<string | string[]> {
  const out: Array<string | string[]> = []
  const extraHop = headers.connection === undefined ? null : connectionTokens(headers)
  let seen = 0
  for (const k in headers) {
    const v = headers[k]
    if (v === undefined || HOP_BY_HOP.has(k) || extraHop?.has(k)) continue
    switch (k) {
      case 'via': seen |= R_VIA; out.push(k, v ? `${Array.isArray(v) ? v.join(', ') : v}, ${via}` : via); continue
      case 'x-kong-upstream-latency': seen |= R_UP; out.push(k, upstreamLatency); continue
      case 'x-kong-proxy-latency': seen |= R_PROXY; out.push(k, proxyLatency); continue
      case 'x-kong-request-id': seen |= R_ID; out.push(k, requestId); continue
    }
    out.push(k, v)
  }
  if (!(seen & R_VIA)) out.push('via', via)
  if (!(seen & R_UP)) out.push('x-kong-upstream-latency', upstreamLatency)
  if (!(seen & R_PROXY)) out.push('x-kong-proxy-latency', proxyLatency)
  if (!(seen & R_ID)) out.push('x-kong-request-id', requestId)
  return out
}
