/**
 * The proxy: a request handler bound to the current snapshot, plus listeners.
 *
 * `swap()` replaces the snapshot reference; a request reads it once, on arrival, and keeps
 * it in its context, so in-flight requests finish on the config they started with.
 * `close()` stops accepting, lets in-flight requests finish (bounded), then closes the
 * remaining connections and the upstream pools.
 */
import {randomFillSync} from 'node:crypto'
import {createServer, IncomingMessage, ServerResponse, type Server} from 'node:http'
import {createServer as createTlsServer} from 'node:https'
import type {Socket} from 'node:net'
import type {SecureContext} from 'node:tls'
import type pg from 'pg'
import type {Logger} from '../kit/log.js'
import {requestLogger, type ProxyContext} from './context.js'
import {generateSelfSigned, type PemPair} from '../../pki/self-signed-rsa.js'
import {balancerPhase, responsePhase} from './dispatch.js'
import {formatAddress, type ListenSpec} from './listen.js'
import {listenHandle} from '../supervisor/serving.js'
import {stopAccepting} from '../listeners/bind.js'
import {accessPhase, routerPhase, serviceCheck} from './phases.js'
import {pluginAccessPhase, pluginLogPhase, useGlobalPlugins} from './plugins-runner.js'
import {PluginStates} from '../pdk/state.js'
import {MESSAGES, SERVER_HEADER, sendError} from './responses.js'
import {CONTENT_TYPES, errorBody, negotiateError, type ErrorTemplates} from './error-format.js'
import {readTrustedCertificates} from '../conf/trusted-certificates.js'
import {readErrorTemplates} from '../conf/error-templates.js'
import {dnsSettings} from '../conf/dns.js'
import {NameResolver} from './dns.js'
import {HealthRegistry} from './health/registry.js'
import {emptySnapshot, type ProxySnapshot} from './snapshot.js'
import {Cancellation, keepaliveOf, UpstreamPools, type Keepalive, type UpstreamResponse} from './upstream/index.js'
import {countRequest} from './connection-count.js'
import {bodyRefused, clientBodyFailed} from './client-body.js'
import {ClientBodyError} from '../pdk/request-body.js'
import {downstreamServerKind} from './downstream/check.js'
import {createDownstreamServer} from './downstream/server.js'
import {headerPolicy, KONG_HEADERS, type HeaderPolicy} from './kong-headers.js'
import {clientAddress, NO_TRUSTED_IPS, realIpSettings, type RealIpSettings} from './real-ip.js'
import type {NodeConf} from '../conf/defaults.js'
import {LiveSet, type LiveEntry} from './live-set.js'
import {bytesWritten, releaseLatin1} from './socket-write.js'

export interface ProxyStats {
  connections_active: number
  connections_accepted: number
  total_requests: number
  requests_in_flight: number
}

export interface Proxy {
  /** Node `(req, res)` handler; usable in-process without listening. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void
  /** Atomically replaces the config; in-flight requests keep theirs. */
  swap(snapshot: ProxySnapshot): void
  /** Opens every listener; rejects (closing those opened) naming the address that failed. */
  listen(listens: ListenSpec[]): Promise<void>
  /** Stops accepting, drains in-flight requests (up to `drainMs`), closes connections. */
  close(): Promise<void>
  stats(): ProxyStats
  /** The snapshot serving now (for /metrics). */
  current(): ProxySnapshot
  /** The state slots plugins declared, in this proxy (read by /metrics); closed with it. */
  readonly pluginStates: PluginStates
  /** Target health (active and passive checks) of this proxy process. */
  readonly health: HealthRegistry
}

export interface ProxyOptions {
  log: Logger
  initial?: ProxySnapshot
  /** Longest wait for in-flight requests on close; 10 s by default. */
  drainMs?: number
  /** Certificate served when no SNI matches; generated once (self-signed) by default. */
  defaultCertificate?: PemPair
  /** The node's Postgres, for plugins that keep data there; the caller ends it after close(). */
  database?: pg.Pool
  /** Upstream keep-alive pool settings (kong.conf `upstream_keepalive_*`); Kong's defaults if absent. */
  keepalive?: Keepalive
  /** Which gateway headers to add (kong.conf `headers`, `headers_upstream`); Kong's defaults if absent. */
  headers?: HeaderPolicy
  /** kong.conf `trusted_ips`, `real_ip_header`, `real_ip_recursive`; nothing trusted if absent. */
  realIp?: RealIpSettings
  /** kong.conf `error_default_type`; text/plain if absent. */
  errorDefaultType?: string
  /** kong.conf `error_template_*` (the files' text); Kong's templates if absent. */
  errorTemplates?: ErrorTemplates
  /** kong.conf `lua_ssl_trusted_certificate` (PEM certificates), for plugins that verify servers; Node's roots if absent. */
  trustedCertificates?: string[]
  /** Name resolution (kong.conf `dns_*`); the system's resolver if absent. */
  dns?: NameResolver
}

/** The proxy settings a node's conf carries. */
export function proxyOptionsOf(conf: NodeConf): Pick<ProxyOptions, 'keepalive' | 'headers' | 'realIp' | 'errorDefaultType' | 'errorTemplates' | 'trustedCertificates' | 'dns'> {
  return {
    dns: new NameResolver(dnsSettings(conf)),
    trustedCertificates: readTrustedCertificates(conf),
    errorDefaultType: conf.error_default_type,
    errorTemplates: readErrorTemplates(conf),
    keepalive: keepaliveOf(conf),
    headers: headerPolicy(conf.headers, conf.headers_upstream, conf.allow_debug_header),
    realIp: realIpSettings(conf.trusted_ips, conf.real_ip_header, conf.real_ip_recursive),
  }
}

const LISTEN_ERRORS: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'cannot assign requested address',
}

export function createProxy(opts: ProxyOptions): Proxy {
  const {log} = opts
  let snapshot = opts.initial ?? emptySnapshot()
  let defaultCert = opts.defaultCertificate
  let closing: Promise<void> | null = null
  const dns = opts.dns ?? new NameResolver()
  // resolving as Node does needs no lookup of ours on the connection path
  const pools = new UpstreamPools(opts.keepalive, (message) => log.notice(message), dns.systemOnly ? undefined : dns.lookup)
  const settings: RequestSettings = {headerPolicy: opts.headers ?? KONG_HEADERS, realIp: opts.realIp ?? NO_TRUSTED_IPS, errorDefaultType: opts.errorDefaultType ?? 'text/plain', errorTemplates: opts.errorTemplates ?? {}}
  const {realIp} = settings
  if (realIp.header === 'proxy_protocol' && realIp.trusted) log.warn('real_ip_header = proxy_protocol is not supported (no PROXY protocol listeners); client addresses are the connections\' own')
  const health = new HealthRegistry(dns)
  health.sync(snapshot.upstreams)
  const pluginStates = new PluginStates({database: opts.database, trustedCertificates: opts.trustedCertificates})
  const servers: Server[] = []
  const sockets = new LiveSet<Socket>()
  const inFlight = new LiveSet<ServerResponse>()
  const counters = {accepted: 0, requests: 0}
  let drained: (() => void) | null = null

  /** No request may end the node: whatever throws is logged and answered 500 when it still can be. */
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      serve(req, res)
    } catch (err) {
      log.error(`unexpected error while proxying: ${(err as Error)?.stack ?? err}`)
      if (res.headersSent) res.destroy()
      else {
        res.statusCode = 500
        res.setHeader('Content-Type', 'application/json; charset=utf-8')
        res.end(JSON.stringify({message: MESSAGES[500]}))
      }
    }
  }

  const shared: Shared = {pools, pluginStates, health, closed: (state) => {
    inFlight.delete(state.inFlight)
    if (inFlight.size === 0) drained?.()
  }}

  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    counters.requests++
    // nginx refuses a request line its header buffer cannot hold (Node's limit is on the whole head)
    if (req.url!.length > REQUEST_LINE_MAX - 16 && requestLineLength(req) > REQUEST_LINE_MAX) {
      const refuseIt = () => refuse(req.socket, {reason: 'uri', method: req.method ?? ''})
      // pipelined behind requests still answering: refused in its turn, after their answers (nginx's order)
      if (res.socket === null) res.once('socket', refuseIt)
      else refuseIt()
      return
    }
    // no `Keep-Alive: timeout=…` response header (nginx, so Kong, sends none); the idle
    // timeout itself is the server's keepAliveTimeout
    ;(res as ServerResponse & {_keepAliveTimeout: number})._keepAliveTimeout = 0
    if (closing) res.shouldKeepAlive = false
    const ctx = newContext(req, res, snapshot, log, settings)
    // one close listener per request, the same function for all (the request's state rides
    // on the response): cancel a pending upstream try, log, drain
    const state: RequestState = {ctx, cancel: new Cancellation(), shared, inFlight: inFlight.add(res)}
    ;(res as ServerResponse & {[STATE]?: RequestState})[STATE] = state
    // the latest request on a connection is the one whose body the parser reads
    ;(req.socket as Socket & {[READING]?: RequestState})[READING] = state
    res.on('close', onResponseClose)
    void run(state)
  }

  const track = (server: Server) => {
    server.on('connection', (s: Socket) => {
      counters.accepted++
      const entry = sockets.add(s)
      s.on('close', () => sockets.delete(entry))
    })
    server.on('clientError', (err: NodeJS.ErrnoException & {rawPacket?: Buffer}, socket: Socket) => {
      log.debug(`client error: ${err.code ?? err.message}`)
      const reading = (socket as Socket & {[READING]?: RequestState})[READING]
      // (only while that request is still answering: past its response, the rest of its body is discarded, and refused as below)
      if (reading !== undefined && !reading.ctx.req.complete && !reading.ctx.req.destroyed && !reading.ctx.res.writableFinished && err.code?.startsWith('HPE_')) {
        // the client ended its side mid-body: it went away (the body's read fails as aborted, once the connection is gone)
        if (err.code === 'HPE_INVALID_EOF_STATE') return void socket.destroy()
        // a body the parser refused: the request being read answers (its id, its plugins)
        return bodyRefused(reading.ctx, err, reading.cancel)
      }
      if (!socket.writable || socket.destroyed) socket.destroy()
      else if (err.code?.startsWith('HPE_')) refuse(socket, refusedRequest(err))
      else socket.end(clientErrorReply(REFUSALS.bad, nextRequestId(), settings))
    })
  }

  /**
   * Answers a request the parser refused, as nginx's error page in Kong does, then runs the
   * global plugins' log phase on it as Kong does: what was read of it is its method and,
   * when its request line was whole, its target; no header, no route, no service.
   */
  const refuse = (socket: Socket, refused: RefusedRequest): void => {
    // an answer held for the end of this turn (the request before this one) goes first
    releaseLatin1(socket)
    const refusal = REFUSALS[refused.reason]
    if (snapshot.pluginPlan.global.length === 0) return void socket.end(clientErrorReply(refusal, nextRequestId(), settings))
    const req = new IncomingMessage(socket)
    req.method = refused.method
    req.url = refused.target ?? ''
    const res = new ServerResponse(req)
    const ctx = newContext(req, res, snapshot, log, settings)
    const reply = clientErrorReply(refusal, ctx.requestId, settings)
    res.statusCode = refusal.status
    // what the log phase reads of the response (`sentHead`), as Node keeps it for the responses it writes
    ;(res as ServerResponse & {_header: string})._header = reply.slice(0, reply.indexOf('\r\n\r\n') + 4)
    useGlobalPlugins(ctx, pluginStates)
    socket.end(reply)
    if (ctx.plugins) logPhase(ctx)
  }

  const sniCallback = (name: string, cb: (err: Error | null, ctx?: SecureContext) => void) => cb(null, snapshot.certificates.lookup(name) ?? undefined)

  const listenOne = async (l: ListenSpec): Promise<Server> => {
    let server: Server
    const fast = downstreamServerKind((message) => log.notice(message)) === 'fast'
    if (fast) {
      const tlsOptions = l.ssl ? {...(defaultCert ??= generateSelfSigned()), SNICallback: sniCallback} : undefined
      server = createDownstreamServer({keepAliveTimeout: 60_000, tls: tlsOptions}, handler as never) as unknown as Server
    } else if (l.ssl) {
      defaultCert ??= generateSelfSigned()
      server = createTlsServer({
        ...defaultCert,
        requireHostHeader: false,
        SNICallback: sniCallback,
      }, handler) as unknown as Server
    } else {
      // an HTTP/1.1 request without Host is refused in the router phase, with Kong's error page
      server = createServer({requireHostHeader: false}, handler)
    }
    if (!fast) server.keepAliveTimeout = 60_000
    track(server)
    const refuse = (err: NodeJS.ErrnoException) => new Error(`could not listen on ${formatAddress(l.host, l.port)}: ${LISTEN_ERRORS[err.code ?? ''] ?? err.message}`)
    // supervised: the supervisor's socket (kept across restarts of this process)
    const handle = await listenHandle('proxy_listen', l.host, l.port).catch((err: NodeJS.ErrnoException) => {
      throw refuse(err)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(refuse(err)))
      if (handle) server.listen(handle, () => resolve())
      else server.listen({host: l.host, port: l.port}, () => resolve())
    })
    server.on('error', (err) => log.error(`proxy listener ${formatAddress(l.host, l.port)}: ${err.message}`))
    if (l.http2) log.notice(`http2 is not supported yet on ${formatAddress(l.host, l.port)}; serving HTTP/1.1`)
    return server
  }

  const close = () =>
    (closing ??= (async () => {
      health.close()
      // a response still to be sent is its connection's last: it says `Connection: close`
      for (const res of inFlight) if (!res.headersSent) res.shouldKeepAlive = false
      await Promise.all(servers.map((s) => stopAccepting(s)))
      for (const s of servers) s.closeIdleConnections()
      if (inFlight.size > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, opts.drainMs ?? 10_000)
          drained = () => {
            clearTimeout(timer)
            resolve()
          }
        })
      }
      for (const s of sockets) s.destroy()
      await Promise.all([pools.close(), pluginStates.close()])
    })())

  return {
    handler,
    swap(next) {
      snapshot = next
      health.sync(next.upstreams)
    },
    async listen(listens) {
      for (const l of listens) {
        try {
          servers.push(await listenOne(l))
        } catch (err) {
          await close()
          throw err
        }
        log.info(`proxy listening on ${formatAddress(l.host, l.port)}${l.ssl ? ' (ssl)' : ''}`)
      }
    },
    close,
    current: () => snapshot,
    pluginStates,
    health,
    stats: () => ({
      connections_active: sockets.size,
      connections_accepted: counters.accepted,
      total_requests: counters.requests,
      requests_in_flight: inFlight.size,
    }),
  }
}

/**
 * Request ids (32 hex chars, as Kong's) cut from a pool of random bytes refilled 512 ids at
 * a time: one `randomBytes(16)` per request showed in profiles. Ids are unique, not secret.
 */
const ID_POOL = Buffer.allocUnsafe(16 * 512)
let idOffset = ID_POOL.length

function nextRequestId(): string {
  if (idOffset === ID_POOL.length) {
    randomFillSync(ID_POOL)
    idOffset = 0
  }
  idOffset += 16
  return ID_POOL.toString('hex', idOffset - 16, idOffset)
}

/** nginx's `large_client_header_buffers` (8k by default): the longest request line, CRLF included. */
const REQUEST_LINE_MAX = 8192

/** The request line's length as the client sent it (`GET /path HTTP/1.1` and CRLF). */
function requestLineLength(req: IncomingMessage): number {
  return (req.method?.length ?? 0) + 1 + (req.url?.length ?? 0) + 1 + 8 + 2
}

/** Why a request is refused before routing: its request line is too long, its headers are, or it is malformed. */
type RefusalReason = 'uri' | 'headers' | 'bad'

/** What is known of a request the parser refused: why, its method, its target when the request line was whole. */
interface RefusedRequest {
  reason: RefusalReason
  method: string
  target?: string
}

/**
 * Reads what nginx would have of a refused request from the bytes Node's parser saw: the
 * request line (a header overflow within it is nginx's 414).
 */
function refusedRequest(err: NodeJS.ErrnoException & {rawPacket?: Buffer}): RefusedRequest {
  const raw = err.rawPacket ?? Buffer.alloc(0)
  const end = raw.indexOf('\n')
  const lineEnd = end < 0 ? raw.length : end
  const line = raw.toString('latin1', 0, Math.min(lineEnd, REQUEST_LINE_MAX)).replace(/\r$/, '')
  const space = line.indexOf(' ')
  const method = space < 0 ? '' : line.slice(0, space)
  const overflow = err.code === 'HPE_HEADER_OVERFLOW'
  if (end < 0 ? overflow : end + 1 > REQUEST_LINE_MAX) return {reason: 'uri', method}
  const target = line.slice(space + 1).replace(/ HTTP\/\d\.\d$/, '')
  return {reason: overflow ? 'headers' : 'bad', method, target: space < 0 ? undefined : target}
}

/**
 * The status and message nginx and Kong's error handler answer a refused request with: 414
 * `URI too long` for an over-long request line, 400 `Request header or cookie too large`
 * for headers over the limit (nginx's 494, which Kong sends as 400), else 400 `Bad request`.
 */
const REFUSALS: Record<RefusalReason, {status: number; message: string}> = {
  uri: {status: 414, message: 'URI too long'},
  headers: {status: 400, message: 'Request header or cookie too large'},
  bad: {status: 400, message: MESSAGES[400]},
}

const REASONS: Record<number, string> = {400: 'Bad Request', 414: 'Request-URI Too Large'}

/**
 * The answer to a request the parser refused, as Kong's error page gives it (in the
 * `error_default_type` format, nothing of the request's headers being known); the
 * connection closes after it.
 */
function clientErrorReply({status, message}: {status: number; message: string}, requestId: string, settings: RequestSettings): string {
  const format = negotiateError(settings.errorDefaultType)
  const body = errorBody(format, message, requestId, settings.errorTemplates)
  const server = settings.headerPolicy.server ? `Server: ${SERVER_HEADER}\r\n` : ''
  return `HTTP/1.1 ${status} ${REASONS[status]}\r\n${server}Content-Type: ${CONTENT_TYPES[format]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
}

/** The proxy's settings every request context carries. */
interface RequestSettings {
  headerPolicy: HeaderPolicy
  realIp: RealIpSettings
  errorDefaultType: string
  errorTemplates: ErrorTemplates
}

function newContext(req: IncomingMessage, res: ServerResponse, snapshot: ProxySnapshot, log: Logger, settings: RequestSettings): ProxyContext {
  const {headerPolicy, realIp, errorDefaultType, errorTemplates} = settings
  const requestId = nextRequestId()
  const encrypted = (req.socket as {encrypted?: boolean}).encrypted === true
  const socketAddress = req.socket.remoteAddress ?? ''
  // no trusted_ips (the default): the connection's own address, nothing else looked at
  const client = realIp.trusted === null && !realIp.unix ? null : clientAddress(socketAddress, req.headers, realIp)
  const connection = countRequest(req.socket)
  return {
    requestId,
    startedAt: performance.now(),
    headerPolicy,
    errorDefaultType,
    errorTemplates,
    socketBytesWritten: bytesWritten(req.socket),
    connectionSerial: connection.serial,
    connectionRequests: connection.requests,
    snapshot,
    req,
    res,
    scheme: encrypted ? 'https' : 'http',
    localPort: req.socket.localPort ?? 0,
    remoteAddress: client?.address ?? socketAddress,
    trustedClient: client?.trusted ?? false,
    log: requestLogger(log, requestId),
    phase: 'router',
    match: null,
    route: null,
    service: null,
    consumer: null,
    credential: null,
    plugins: null,
    pluginContext: null,
    upstreamHeaders: null,
    responseHeaders: null,
    body: null,
    upstream: null,
    tries: [],
    latencies: {},
    shared: {},
  }
}

/** What every request of a proxy shares. */
interface Shared {
  pools: UpstreamPools
  pluginStates: PluginStates
  health: HealthRegistry
  /** The request's response closed: no longer in flight. */
  closed(state: RequestState): void
}

/** One request's state, reachable from its response (`STATE`) by the shared listeners. */
interface RequestState {
  ctx: ProxyContext
  cancel: Cancellation
  shared: Shared
  /** Its place among the proxy's requests in flight. */
  inFlight: LiveEntry<ServerResponse>
}

const STATE = Symbol('kctl.request')
/** On a client connection: the state of its latest request. */
const READING = Symbol('kctl.reading')

function onResponseClose(this: ServerResponse & {[STATE]?: RequestState}): void {
  const state = this[STATE]!
  // the connection no longer points at this request (nor keeps it while idle)
  const socket = state.ctx.req.socket as (Socket & {[READING]?: RequestState}) | null
  if (socket?.[READING] === state) socket[READING] = undefined
  if (!this.writableFinished) state.cancel.abort()
  logPhase(state.ctx)
  state.shared.closed(state)
}

function onRequestError(this: IncomingMessage & {[STATE]?: RequestState}, err: Error): void {
  this[STATE]?.ctx.log.debug(`client request error: ${err.message}`)
}

/** Runs the phases in order (see context.ts); each may end the request. Never rejects. */
async function run(state: RequestState): Promise<void> {
  const {ctx, cancel, shared} = state
  const {req, res} = ctx
  ;(req as IncomingMessage & {[STATE]?: RequestState})[STATE] = state
  req.on('error', onRequestError)
  let upstreamRes: UpstreamResponse | null = null
  try {
    if (!routerPhase(ctx)) {
      // no route (or no Host): answered already; the global plugins log it, as Kong's do
      useGlobalPlugins(ctx, shared.pluginStates)
      return
    }
    if (!accessPhase(ctx)) return
    // no await (and no promise) when the route has no plugins, or only synchronous ones
    if (ctx.snapshot.pluginPlan.forRoute(ctx.route!.id).length > 0) {
      const passed = pluginAccessPhase(ctx, shared.pluginStates)
      if (passed === false || (passed !== true && !(await passed))) return
    }
    if (!serviceCheck(ctx)) return
    upstreamRes = await balancerPhase(ctx, shared.pools, cancel, shared.health)
    if (!upstreamRes) return
    await responsePhase(ctx, upstreamRes)
  } catch (err) {
    upstreamRes?.drop() // nobody will read the body: let its connection (and peer slot) go
    // the client went away or sent a body the parser refused: not our error
    if (err instanceof ClientBodyError) return clientBodyFailed(ctx, err)
    ctx.log.error(`unexpected error while proxying: ${(err as Error)?.stack ?? err}`)
    if (res.headersSent) res.destroy()
    else sendError(ctx, 500, MESSAGES[500])
  }
}

function logPhase(ctx: ProxyContext): void {
  ctx.phase = 'log'
  ctx.latencies.total = Math.round(performance.now() - ctx.startedAt)
  pluginLogPhase(ctx)
  // the access line is built only when `info` is written (Kong's default level is notice)
  if (ctx.log.enabled?.('info') === false) return
  ctx.log.info(`${ctx.req.method} ${ctx.req.url} ${ctx.res.statusCode}`, {
    route: ctx.route?.id,
    service: ctx.service?.id,
    tries: ctx.tries.length || undefined,
    latency_ms: ctx.latencies.total,
  })
}
