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
 * Plugins see the request only through the PDK's PluginContext (pdk/context.ts) over
 * this object's request view (pdk/request.ts, which ProxyContext extends); the runner
 * (plugins-runner.ts) runs them in `access` (descending priority), `response` and `log`,
 * in the order of the per-route plan built with the snapshot (plugins-plan.ts).
 */
import type {IncomingMessage, ServerResponse} from 'node:http'
import type {ErrorTemplates} from './error-format.js'
import type {LogFields, Logger, LogLevel} from '../kit/log.js'
import type {RouteMatch} from '../router/types.js'
import type {Balancer, Peer} from './balancer/index.js'
import type {PluginContext} from '../pdk/context.js'
import type {Consumer, Credential, Route, Service} from '../pdk/types.js'
import type {RequestView} from '../pdk/request.js'
import type {PlannedPlugin, PluginInstance} from './plugins-plan.js'
import type {ProxySnapshot} from './snapshot.js'
import type {HeaderPolicy} from './kong-headers.js'
import type {ClientCertificate} from './certificates.js'

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
  /** Method sent upstream when a plugin changed it (request-transformer). */
  method?: string
  balancer: Balancer | null
  /** https only: the certificate to present when the upstream asks for one (mTLS). */
  clientCertificate: ClientCertificate | null
}

export interface Try {
  peer: Peer
  startedAt: number
  error?: string
  status?: number
}

export interface ProxyContext extends RequestView {
  readonly requestId: string
  /** `performance.now()` when the request arrived. */
  readonly startedAt: number
  /** Which gateway headers to add (kong.conf `headers`, `headers_upstream`). */
  readonly headerPolicy: HeaderPolicy
  /** kong.conf `error_default_type`: the format of proxy failures for clients that send no Accept. */
  readonly errorDefaultType: string
  /** kong.conf `error_template_*`: the templates of the gateway's own errors, by format. */
  readonly errorTemplates: ErrorTemplates
  /** The connection comes from a `trusted_ips` address: its X-Forwarded-* headers are kept. */
  readonly trustedClient: boolean
  /** The client socket's byte count when this request began (keep-alive sockets carry many). */
  readonly socketBytesWritten: number
  /** The client connection's serial (connection-count.ts). */
  readonly connectionSerial: number
  /** The requests its connection carried, this one included. */
  readonly connectionRequests: number
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
  route: Route | null
  service: Service | null
  /** Set by authentication plugins. */
  consumer: Consumer | null
  credential: Credential | null
  /** Plugins that ran in `access`, for the response and log phases; null when none. */
  plugins: Array<{p: PlannedPlugin; inst: PluginInstance}> | null
  pluginContext: PluginContext | null
  /** Upstream request header changes by plugins (null value: remove). */
  upstreamHeaders: Record<string, string | string[] | null> | null
  /** Headers plugins add to the response, proxied or not. */
  responseHeaders: Record<string, string> | null
  /** The plugins' response handlers saw a response the gateway produced (pluginOwnResponse). */
  ownResponseSeen?: boolean
  /** Set by plugins that rewrite the response body; the body is then buffered. */
  responseBodyTransforms?: Array<(body: Buffer, headers: Record<string, string | string[]>) => Buffer>
  /** Set-Cookie for a consistent-hashing cookie generated for this request (hash_on = cookie). */
  hashCookie?: string
  /** The request body when a plugin buffered or replaced it. */
  body: Buffer | null
  upstream: UpstreamRequest | null
  tries: Try[]
  /** Milliseconds, for the X-Kong-*-Latency headers and the log phase. */
  latencies: {proxy?: number; upstream?: number; total?: number}
  /** Per-request scratch space shared by plugins (Kong's `kong.ctx.shared`). */
  shared: Record<string, unknown>
}

/**
 * The per-request logger: binds `request_id` by passing it with each call instead of
 * creating a child logger (a bindings object and six closures) for every request, most
 * of which never log above the configured level.
 */
export function requestLogger(base: Logger, requestId: string): Logger {
  return new RequestLogger(base, requestId)
}

class RequestLogger implements Logger {
  constructor(private readonly base: Logger, private readonly requestId: string) {}
  private fields(f?: LogFields): LogFields {
    return f ? {request_id: this.requestId, ...f} : {request_id: this.requestId}
  }
  debug(msg: string, f?: LogFields): void { this.base.debug(msg, this.fields(f)) }
  info(msg: string, f?: LogFields): void { this.base.info(msg, this.fields(f)) }
  notice(msg: string, f?: LogFields): void { this.base.notice(msg, this.fields(f)) }
  warn(msg: string, f?: LogFields): void { this.base.warn(msg, this.fields(f)) }
  error(msg: string, f?: LogFields): void { this.base.error(msg, this.fields(f)) }
  child(bindings: LogFields): Logger { return this.base.child(this.fields(bindings)) }
  enabled(level: LogLevel): boolean { return this.base.enabled?.(level) ?? true }
}
