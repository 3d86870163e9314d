/**
 * The per-request context and the request lifecycle. Phases run in this order; each may
 * answer the client itself and end the request (short-circuit), except `log`, which
 * always runs once the response is finished:
 *
 *   client ─► router ─► access ─────────► balancer ◄──┐ retry on connect error/timeout
 *             (match,   (https redirect,   (pick peer, │ (next peer, up to
 *             404)      503 no service,    dispatch) ──┘  service.retries)
 *                       plugins: auth…)       │
 *                                             ▼
 *   client ◄──────────────────────────── response ─► log
 *                                    (headers, Via,       (plugins: loggers,
 *                                     latencies, body)     metrics)
 *
 * Plugins (to come) see the request only through this object: route, service, consumer,
 * `shared` scratch space, and the upstream request they may rewrite in `access`.
 */
import type {IncomingMessage, ServerResponse} from 'node:http'
import type {Logger} from '../log.js'
import type {RouteMatch} from '../router/types.js'
import type {Balancer, Peer} from './balancer.js'
import type {ProxySnapshot} from './snapshot.js'

export type PhaseName = 'router' | 'access' | 'balancer' | 'response' | 'log'

export interface UpstreamRequest {
  scheme: 'http' | 'https'
  /** Service host: an upstream name (balanced) or a hostname/IP. */
  host: string
  port: number
  /** Path and query string. */
  path: string
  /** Host header to send; null means the peer's `host[:port]`. */
  hostHeader: string | null
  balancer: Balancer | null
}

export interface Try {
  peer: Peer
  startedAt: number
  error?: string
  status?: number
}

export interface ProxyContext {
  readonly requestId: string
  /** `performance.now()` when the request arrived. */
  readonly startedAt: number
  /** The snapshot this request started with, kept to the end even if a new one is swapped in. */
  readonly snapshot: ProxySnapshot
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly scheme: 'http' | 'https'
  readonly localPort: number
  readonly remoteAddress: string
  log: Logger
  phase: PhaseName
  match: RouteMatch | null
  route: any | null
  service: any | null
  /** Set by authentication plugins. */
  consumer: any | null
  upstream: UpstreamRequest | null
  tries: Try[]
  /** Milliseconds, for the X-Kong-*-Latency headers and the log phase. */
  latencies: {proxy?: number; upstream?: number; total?: number}
  /** Per-request scratch space shared by plugins (Kong's `kong.ctx.shared`). */
  shared: Record<string, unknown>
}
