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
