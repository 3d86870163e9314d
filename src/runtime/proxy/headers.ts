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
 * `writeHead`, from the upstream's headers as received (`[name, value, …]`, names in the
 * upstream's case, which is kept): hop-by-hop ones dropped, Via appended to (the
 * upstream's Via lines joined into one), X-Kong-* set, in the upstream's order with the
 * ones it did not send at the end.
 */
export function clientResponseHeaderList(
  raw: string[],
  via: string,
  upstreamLatency: string,
  proxyLatency: string,
  requestId: string,
): string[] {
  const out: string[] = []
  let extraHop: Set<string> | null = null
  let seen = 0
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]
    if (name.length === 10 && name.toLowerCase() === 'connection') {
      const tokens = connectionTokens({connection: raw[i + 1]})
      if (tokens) for (const t of tokens) (extraHop ??= new Set()).add(t)
    }
  }
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]
    const k = name.toLowerCase()
    if (HOP_BY_HOP.has(k) || extraHop?.has(k)) continue
    switch (k) {
      case 'via':
        if (!(seen & R_VIA)) {
          const theirs = joined(raw, 'via')
          out.push(name, theirs ? `${theirs}, ${via}` : via)
        }
        seen |= R_VIA
        continue
      case 'x-kong-upstream-latency':
        if (!(seen & R_UP)) out.push(name, upstreamLatency)
        seen |= R_UP
        continue
      case 'x-kong-proxy-latency':
        if (!(seen & R_PROXY)) out.push(name, proxyLatency)
        seen |= R_PROXY
        continue
      case 'x-kong-request-id':
        if (!(seen & R_ID)) out.push(name, requestId)
        seen |= R_ID
        continue
    }
    out.push(name, raw[i + 1])
  }
  if (!(seen & R_VIA)) out.push('via', via)
  if (!(seen & R_UP)) out.push('x-kong-upstream-latency', upstreamLatency)
  if (!(seen & R_PROXY)) out.push('x-kong-proxy-latency', proxyLatency)
  if (!(seen & R_ID)) out.push('x-kong-request-id', requestId)
  return out
}

/** Every value of header `lower` in a raw list, joined with ", " (as repeated headers combine). */
function joined(raw: string[], lower: string): string {
  let v = ''
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length === lower.length && raw[i].toLowerCase() === lower) v = v ? `${v}, ${raw[i + 1]}` : raw[i + 1]
  }
  return v
}
