/**
 * The request/response view the PDK works over: what a plugin context may read and
 * change of one proxied request. The proxy's per-request context extends it (the compiler
 * checks that it fits), so the PDK never depends on the proxy; plugins never see this
 * view, only the PluginContext over it.
 */
import type {IncomingMessage, ServerResponse} from 'node:http'
import type {Logger} from '../kit/log.js'
import type {Consumer, Credential, Route, Service} from './types.js'

/** One try of the upstream: the peer, when it began (`performance.now()`), how it ended. */
export interface UpstreamTry {
  peer?: {host: string; port: number}
  startedAt?: number
  /** The upstream's status, when it answered. */
  status?: number
  /** Why the try failed, when it did. */
  error?: string
}

/** The upstream request as plugins may change it. */
export interface UpstreamView {
  /** Path and query string. */
  path: string
  /** Method sent upstream when a plugin changed it (request-transformer). */
  method?: string
}

export interface RequestView {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly requestId: string
  /** `performance.now()` when the request arrived. */
  readonly startedAt: number
  readonly scheme: 'http' | 'https'
  /** The client's address (after `trusted_ips`/`real_ip_header`). */
  readonly remoteAddress: string
  /** The client socket's byte count when this request began (keep-alive sockets carry many). */
  readonly socketBytesWritten: number
  /** nginx's `$connection`: the client connection's serial. */
  readonly connectionSerial: number
  /** nginx's `$connection_requests`: the requests so far on it, this one included. */
  readonly connectionRequests: number
  readonly log: Logger
  readonly route: Route | null
  readonly service: Service | null
  consumer: Consumer | null
  credential: Credential | null
  /** The route's regex path captures (Kong's `uri_captures`), when its path was a regex. */
  readonly match?: {captures: {whole?: string; positional: string[]; named: Record<string, string>} | null} | null
  /** Per-request scratch space shared by plugins (Kong's `kong.ctx.shared`). */
  readonly shared: Record<string, unknown>
  /** Upstream tries so far; one with a status means an upstream answered. */
  readonly tries: ReadonlyArray<UpstreamTry>
  /** Milliseconds, for the log phase. */
  readonly latencies: {proxy?: number; upstream?: number; total?: number}
  /** The request body when a plugin buffered or replaced it. */
  body: Buffer | null
  upstream: UpstreamView | null
  /** Upstream request header changes by plugins (null value: remove). */
  upstreamHeaders: Record<string, string | string[] | null> | null
  /** Headers plugins add to the response, proxied or not. */
  responseHeaders: Record<string, string> | null
  /** Set by plugins that rewrite the response body; the body is then buffered. */
  responseBodyTransforms?: Array<(body: Buffer, headers: Record<string, string | string[]>) => Buffer>
}

/** A request target split into its path and its query string (with the `?`). */
export function splitUrl(url: string): {path: string; query: string} {
  let u = url
  // absolute-form request targets (`GET http://host/path`) route on their path
  if (!u.startsWith('/')) u = u.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '') || '/'
  const q = u.indexOf('?')
  return q < 0 ? {path: u, query: ''} : {path: u.slice(0, q), query: u.slice(q)}
}

/**
 * The response head as written to the client (status line and headers), or '' before it
 * was: Node keeps the text it sent, whichever way the headers were given (a flat list on
 * the proxied path), so a logger reads them back here instead of the proxy keeping a copy.
 */
export function sentHead(res: ServerResponse): string {
  const head = (res as ServerResponse & {_header?: unknown})._header
  return typeof head === 'string' ? head : ''
}
