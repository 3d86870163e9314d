/**
 * The vocabulary of the proxy's conf keys and Kong's start-up errors for them: `headers`
 * and `headers_upstream` tokens, `trusted_ips` entries, `error_default_type` values. conf
 * checks a value against them when it loads; the proxy (kong-headers.ts, real-ip.ts,
 * error-format.ts) reads its settings with them, so conf never imports the proxy.
 */
import {parseCidr} from '../kit/cidr.js'

export const ERROR_DEFAULT_TYPES = ['text/plain', 'text/html', 'application/json', 'application/xml'] as const

/**
 * The header switches (proxy/kong-headers.ts's HeaderPolicy) a `headers` token turns on:
 * the proxy's, and the Admin API's (Server, X-Kong-Admin-Latency).
 */
export type HeaderFlag = 'server' | 'via' | 'proxyLatency' | 'upstreamLatency' | 'responseLatency' | 'adminLatency' | 'upstreamStatus' | 'requestId'

/** Kong's HEADER_KEY_TO_NAME, lower-cased, with what `server_tokens` and `latency_tokens` stand for. */
export const HEADER_TOKENS: Record<string, readonly HeaderFlag[]> = {
  server_tokens: ['server', 'via'],
  latency_tokens: ['proxyLatency', 'upstreamLatency', 'responseLatency', 'adminLatency'],
  server: ['server'],
  via: ['via'],
  'x-kong-proxy-latency': ['proxyLatency'],
  'x-kong-upstream-latency': ['upstreamLatency'],
  'x-kong-response-latency': ['responseLatency'],
  'x-kong-admin-latency': ['adminLatency'],
  'x-kong-upstream-status': ['upstreamStatus'],
  'x-kong-request-id': ['requestId'],
}
export const UPSTREAM_TOKENS = new Set(['x-kong-request-id'])

/** Kong's start-up errors for entries it does not know (`headers: invalid entry 'Foo-Bar'`). */
export function headerSettingErrors(headers: readonly string[], upstream: readonly string[]): string[] {
  const errors: string[] = []
  for (const t of headers) if (t !== 'off' && !(t.toLowerCase() in HEADER_TOKENS)) errors.push(`headers: invalid entry '${t}'`)
  for (const t of upstream) if (t !== 'off' && !UPSTREAM_TOKENS.has(t.toLowerCase())) errors.push(`headers_upstream: invalid entry '${t}'`)
  return errors
}

/** Kong's start-up error for an entry that is neither an address, a CIDR block nor `unix:`. */
export function trustedIpErrors(list: readonly string[]): string[] {
  return list.filter((a) => a !== 'unix:' && !parseCidr(a)).map((a) =>
    `trusted_ips must be a comma separated list in the form of IPv4 or IPv6 address or CIDR block or 'unix:', got '${a}'`)
}
