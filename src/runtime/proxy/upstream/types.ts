/**
 * The contract both upstream clients share (the fast one in connection.ts and pool.ts, the
 * public-API one in node-fallback.ts): where a pool connects, what a try sends, the
 * keep-alive settings, and the failures a try ends with. Imports only Node's types.
 */
import type {LookupFunction} from 'node:net'
import type {Readable} from 'node:stream'

export type FailureKind = 'connect' | 'connect-timeout' | 'dns' | 'timeout' | 'error'

export class UpstreamFailure extends Error {
  constructor(readonly kind: FailureKind, message: string) {
    super(message)
    this.name = 'UpstreamFailure'
  }
}

/** What a pool connects to: one origin with its connection settings. */
export interface Origin {
  tls: boolean
  host: string
  port: number
  connectTimeout: number
  /** TLS only: verify the certificate; the server name to send (none for IP addresses). */
  tlsVerify?: boolean
  servername?: string
  /** TLS only: the certificate and key to present when the upstream asks for one (PEM). */
  clientCertificate?: {cert: string; key: string}
  /** Resolves the host when it is a name (kong.conf `dns_*`); Node's default when absent. */
  lookup?: LookupFunction
}

export interface ClientRequest {
  method: string
  path: string
  /**
   * `[name, value, …]` (values may be lists), names in lower case as they go on the wire.
   * Not checked again: they come from Node's parser, kctl, or plugins through `setListHeader`.
   */
  headers: Array<string | string[]>
  body: Buffer | Readable | null
  /** The body's length when known (a Readable over a buffer); else the headers' or chunked. */
  bodyLength?: number
  /** A fresh copy of a Readable body (over a buffer), for sending it once more. */
  replay?: () => Readable
  /** Longest wait for the response head and between two reads of the body. */
  readTimeout: number
  /** Cancels the try: calls the function set with `onAbort`. */
  signal?: {aborted: boolean; onAbort(fn: (() => void) | null): void}
}

/**
 * Kong's upstream keepalive settings (`upstream_keepalive_*` in kong.conf), per proxy
 * process and origin: idle connections kept (0: none, every request on a new connection),
 * requests per connection (0: no limit), idle time in ms (0: no limit; an upstream's
 * `Keep-Alive: timeout=N` shortens it to 1 s before the upstream would close).
 */
export interface Keepalive {
  poolSize: number
  maxRequests: number
  idleTimeoutMs: number
}

export const KONG_KEEPALIVE: Keepalive = {poolSize: 512, maxRequests: 10_000, idleTimeoutMs: 60_000}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL'])
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL'])

/** A connect that failed (socket error before connected): refused/unreachable, DNS, or other. */
export function classifyConnect(err: Error & {code?: string}): UpstreamFailure {
  const code = err.code ?? ''
  if (CONNECT_CODES.has(code)) return new UpstreamFailure('connect', `${code}: ${err.message}`)
  if (DNS_CODES.has(code)) return new UpstreamFailure('dns', `name resolution failed: ${err.message}`)
  return new UpstreamFailure('error', code ? `${code}: ${err.message}` : err.message)
}
