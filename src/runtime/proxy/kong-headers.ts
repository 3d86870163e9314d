/**
 * Which of its own headers the gateway adds, as Kong's `headers` and `headers_upstream`
 * settings say. Proxied responses get Via, X-Kong-Proxy-Latency, X-Kong-Upstream-Latency
 * (and X-Kong-Upstream-Status); responses the gateway produces itself get Server and
 * X-Kong-Response-Latency; both get X-Kong-Request-Id. The Admin API's replies get Server
 * and X-Kong-Admin-Latency (Kong's admin_header_filter). `server_tokens` means Server and
 * Via, `latency_tokens` the latency headers, `off` none of them. A header turned off is not
 * added, and one of that name from the upstream passes through untouched.
 */
import {HEADER_TOKENS, UPSTREAM_TOKENS} from '../conf/proxy-settings.js'

export interface HeaderPolicy {
  server: boolean
  via: boolean
  proxyLatency: boolean
  upstreamLatency: boolean
  responseLatency: boolean
  /** X-Kong-Admin-Latency on the Admin API's replies. */
  adminLatency: boolean
  upstreamStatus: boolean
  requestId: boolean
  /** X-Kong-Request-Id on the upstream request (`headers_upstream`). */
  upstreamRequestId: boolean
  /**
   * kong.conf `allow_debug_header`: a request with a `Kong-Debug` header gets the matched
   * route's and service's ids and names (Kong-Route-Id, Kong-Route-Name, Kong-Service-Id,
   * Kong-Service-Name) on its response, whoever answers it.
   */
  debug: boolean
}

export function headerPolicy(headers: readonly string[], upstream: readonly string[], debug = false): HeaderPolicy {
  const p: HeaderPolicy = {server: false, via: false, proxyLatency: false, upstreamLatency: false, responseLatency: false, adminLatency: false, upstreamStatus: false, requestId: false, upstreamRequestId: false, debug}
  for (const token of headers) for (const flag of HEADER_TOKENS[token.toLowerCase()] ?? []) p[flag] = true
  p.upstreamRequestId = upstream.some((t) => UPSTREAM_TOKENS.has(t.toLowerCase()))
  return p
}

/** Kong's defaults: `headers = server_tokens, latency_tokens, X-Kong-Request-Id`, `headers_upstream = X-Kong-Request-Id`. */
export const KONG_HEADERS: HeaderPolicy = headerPolicy(['server_tokens', 'latency_tokens', 'X-Kong-Request-Id'], ['X-Kong-Request-Id'])
