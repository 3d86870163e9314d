/**
 * Which of its own headers the gateway adds, as Kong's `headers` and `headers_upstream`
 * settings say. Proxied responses get Via, X-Kong-Proxy-Latency, X-Kong-Upstream-Latency
 * (and X-Kong-Upstream-Status); responses the gateway produces itself get Server and
 * X-Kong-Response-Latency; both get X-Kong-Request-Id. `server_tokens` means Server and Via,
 * `latency_tokens` the latency headers, `off` none of them. A header turned off is not
 * added, and one of that name from the upstream passes through untouched.
 */
export interface HeaderPolicy {
  server: boolean
  via: boolean
  proxyLatency: boolean
  upstreamLatency: boolean
  responseLatency: boolean
  upstreamStatus: boolean
  requestId: boolean
  /** X-Kong-Request-Id on the upstream request (`headers_upstream`). */
  upstreamRequestId: boolean
}

type Flag = Exclude<keyof HeaderPolicy, 'upstreamRequestId'>

/** Kong's HEADER_KEY_TO_NAME, lower-cased; X-Kong-Admin-Latency concerns the Admin API. */
const HEADER_TOKENS: Record<string, readonly Flag[]> = {
  server_tokens: ['server', 'via'],
  latency_tokens: ['proxyLatency', 'upstreamLatency', 'responseLatency'],
  server: ['server'],
  via: ['via'],
  'x-kong-proxy-latency': ['proxyLatency'],
  'x-kong-upstream-latency': ['upstreamLatency'],
  'x-kong-response-latency': ['responseLatency'],
  'x-kong-admin-latency': [],
  'x-kong-upstream-status': ['upstreamStatus'],
  'x-kong-request-id': ['requestId'],
}
const UPSTREAM_TOKENS = new Set(['x-kong-request-id'])

export function headerPolicy(headers: readonly string[], upstream: readonly string[]): HeaderPolicy {
  const p: HeaderPolicy = {server: false, via: false, proxyLatency: false, upstreamLatency: false, responseLatency: false, upstreamStatus: false, requestId: false, upstreamRequestId: false}
  for (const token of headers) for (const flag of HEADER_TOKENS[token.toLowerCase()] ?? []) p[flag] = true
  p.upstreamRequestId = upstream.some((t) => UPSTREAM_TOKENS.has(t.toLowerCase()))
  return p
}

/** Kong's defaults: `headers = server_tokens, latency_tokens, X-Kong-Request-Id`, `headers_upstream = X-Kong-Request-Id`. */
export const KONG_HEADERS: HeaderPolicy = headerPolicy(['server_tokens', 'latency_tokens', 'X-Kong-Request-Id'], ['X-Kong-Request-Id'])

/** Kong's start-up errors for entries it does not know (`headers: invalid entry 'Foo-Bar'`). */
export function headerSettingErrors(headers: readonly string[], upstream: readonly string[]): string[] {
  const errors: string[] = []
  for (const t of headers) if (t !== 'off' && !(t.toLowerCase() in HEADER_TOKENS)) errors.push(`headers: invalid entry '${t}'`)
  for (const t of upstream) if (t !== 'off' && !UPSTREAM_TOKENS.has(t.toLowerCase())) errors.push(`headers_upstream: invalid entry '${t}'`)
  return errors
}
