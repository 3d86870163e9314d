/**
 * The balancer phase and the response phase: pick a peer, send, retry on failure as
 * Kong's balancer does (next peer, up to `service.retries` more tries), then stream the
 * upstream response back with Kong's headers. Unhealthy targets are never picked, and
 * every try's outcome goes to the passive health checks (health/registry.ts).
 */
import type {OutgoingHttpHeaders} from 'node:http'
import type {Readable} from 'node:stream'
import {GATEWAY_VERSION} from '../kit/version.js'
import type {BalanceContext, Peer} from './balancer/index.js'
import type {HealthRegistry} from './health/registry.js'
import type {ProxyContext} from './context.js'
import {clientResponseHeaderList, clientResponseHeaders, HOP_BY_HOP_NAMES, setListHeader, stripPort, upstreamRequestHeaderList, wantsTrailers} from './headers.js'
import {unmapped} from './real-ip.js'
import {hashInput} from './hash-input.js'
import {hasBody, readBody, splitUrl} from './phases.js'
import {pluginResponsePhase} from './plugins-runner.js'
import {MESSAGES, sendError, VIA} from './responses.js'
import {UpstreamFailure, type Cancellation, type FailureKind, type UpstreamPools, type UpstreamResponse} from './upstream/index.js'
import {WATCH_FROM_BYTES, watchWrites} from './write-watch.js'
import {INVALID_HEADER_CHAR} from './downstream/response.js'

/** This node's Via entry upstream: the request's HTTP version, as Kong's. */
const viaFor = (httpVersion: string): string => (httpVersion === '1.1' ? VIA : `${httpVersion} kong/${GATEWAY_VERSION}`)
const NO_PEERS: ReadonlySet<Peer> = new Set()
const NO_HASH: BalanceContext = Object.freeze({})
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'])
const STATUS: Record<FailureKind, [number, string]> = {
  connect: [502, MESSAGES[502]],
  'connect-timeout': [504, MESSAGES[504]],
  dns: [503, 'name resolution failed'],
  timeout: [504, MESSAGES[504]],
  error: [502, MESSAGES[502]],
}

/** Returns the upstream response, or null when it answered the client with an error. */
export async function balancerPhase(ctx: ProxyContext, pools: UpstreamPools, signal: Cancellation, registry: HealthRegistry): Promise<UpstreamResponse | null> {
  ctx.phase = 'balancer'
  // the router and access phases have set the route, the service and the upstream
  const {req} = ctx
  const service = ctx.service!
  const up = ctx.upstream!
  const method = up.method ?? req.method ?? 'GET'
  const streamed = hasBody(req) && ctx.route!.request_buffering === false
  const body: Buffer | Readable | null = ctx.body ?? (!hasBody(req) ? null : streamed ? req : await readBody(req))
  let failed: Set<Peer> | null = null
  const maxTries = 1 + (streamed ? 0 : (service.retries ?? 5))
  let last: UpstreamFailure | null = null
  const balance = up.balancer?.hashed ? {hashKey: hashInput(ctx, up.balancer.upstream)} : NO_HASH
  const upstreamId: string | undefined = up.balancer?.upstream.id
  const health = upstreamId !== undefined ? registry.of(upstreamId) : undefined
  for (let i = 0; i < maxTries && !signal.aborted; i++) {
    // Kong: a balancer whose healthy weight is not above the threshold gives no peer
    const peer = up.balancer ? (health?.available === false ? null : up.balancer.pick(balance, failed ?? NO_PEERS, health?.down)) : directPeer(service, up)
    if (!peer) {
      sendError(ctx, 503, MESSAGES[503])
      return null
    }
    const startedAt = performance.now()
    if (i === 0) ctx.latencies.proxy = Math.round(startedAt - ctx.startedAt)
    const t = {peer, startedAt} as ProxyContext['tries'][number]
    ctx.tries.push(t)
    const writeTimeout = service.write_timeout ?? 60_000
    let sent = body && (!Buffer.isBuffer(body) || body.length >= WATCH_FROM_BYTES) ? watchWrites(body, writeTimeout) : body
    try {
      const res = await pools.send({
        scheme: up.scheme,
        peer,
        method,
        path: up.path,
        headers: ctx.upstreamHeaders || ctx.body
          ? withPluginChanges(ctx, upstreamRequestHeaderList(req, forwardInfo(ctx, peer)))
          : upstreamRequestHeaderList(req, forwardInfo(ctx, peer)),
        body: sent,
        bodyLength: Buffer.isBuffer(body) ? body.length : undefined,
        // a buffered body watched for write_timeout can go again, watched afresh
        replay: sent !== body && Buffer.isBuffer(body) ? () => (sent = watchWrites(body, writeTimeout)) : undefined,
        connectTimeout: service.connect_timeout ?? 60_000,
        readTimeout: service.read_timeout ?? 60_000,
        tlsVerify: service.tls_verify === true,
        servername: up.hostHeader ? stripPort(up.hostHeader) : peer.host,
        clientCertificate: up.clientCertificate,
        signal,
      })
      // the try stays in flight (least-connections) until its body ends or is dropped
      if (up.balancer?.release) res.onClose(() => up.balancer!.release!(peer, false))
      t.status = res.statusCode
      if (health?.on) registry.passive(upstreamId!, peer.key!, {status: res.statusCode})
      ctx.latencies.upstream = Math.round(performance.now() - startedAt)
      return res
    } catch (err) {
      if (sent !== body) (sent as Readable).destroy() // a try that failed before reading it all
      // not the upstream's doing (a plugin's invalid header, a bug): no retry, the request fails with 500
      if (!(err instanceof UpstreamFailure)) throw err
      last = err
      t.error = last.message
      up.balancer?.release?.(peer, true)
      if (health?.on && !signal.aborted) registry.passive(upstreamId!, peer.key!, passiveOutcome(last.kind))
      ;(failed ??= new Set()).add(peer)
      ctx.log.warn(`upstream try ${i + 1}/${maxTries} to ${peer.host}:${peer.port} failed: ${last.message}`)
      const connectPhase = last.kind === 'connect' || last.kind === 'connect-timeout' || last.kind === 'dns'
      if (!connectPhase && !IDEMPOTENT.has(method)) break
    }
  }
  if (signal.aborted) return null
  const [status, message] = STATUS[last?.kind ?? 'error']
  ctx.log.error(`proxying failed after ${ctx.tries.length} tr${ctx.tries.length > 1 ? 'ies' : 'y'}: ${last?.message}`, {status})
  if (ctx.tries.length > 0) ctx.latencies.upstream = Math.round(performance.now() - ctx.tries[0].startedAt)
  sendError(ctx, status, message, {}, status !== 503)
  return null
}

/** The peer of a service without an upstream, one object per service and address (see `UpstreamPools`). */
const DIRECT_PEERS = new WeakMap<object, Peer>()
function directPeer(service: object, up: {host: string; port: number}): Peer {
  let peer = DIRECT_PEERS.get(service)
  if (peer === undefined || peer.host !== up.host || peer.port !== up.port) DIRECT_PEERS.set(service, (peer = {host: up.host, port: up.port, weight: 1}))
  return peer
}

/** Kong counts a try that timed out as a timeout, one that failed otherwise as a TCP failure. */
function passiveOutcome(kind: FailureKind): {failure: 'tcp' | 'timeout'} | {dns: true} {
  if (kind === 'dns') return {dns: true}
  return {failure: kind === 'timeout' || kind === 'connect-timeout' ? 'timeout' : 'tcp'}
}

/** Applies plugins' header changes and a body they buffered or replaced. */
function withPluginChanges(ctx: ProxyContext, headers: Array<string | string[]>): Array<string | string[]> {
  const changes = ctx.upstreamHeaders
  if (changes) {
    for (const k in changes) setListHeader(headers, k, changes[k])
    // the request id is the gateway's, whatever a plugin set (Kong sets it after the plugins)
    if (changes['x-kong-request-id'] !== undefined && ctx.headerPolicy.upstreamRequestId) setListHeader(headers, 'x-kong-request-id', ctx.requestId)
  }
  if (ctx.body) setListHeader(headers, 'content-length', String(ctx.body.length))
  return headers
}

/** The request path without its query string (as `splitUrl(url).path`). */
function pathOnly(url: string): string {
  if (!url.startsWith('/')) return splitUrl(url).path
  const q = url.indexOf('?')
  return q < 0 ? url : url.slice(0, q)
}

function forwardInfo(ctx: ProxyContext, peer: Peer) {
  const {req} = ctx
  const up = ctx.upstream!
  const defaultPort = up.scheme === 'https' ? 443 : 80
  const peerHost = peer.host.includes(':') ? `[${peer.host}]` : peer.host
  return {
    remoteAddress: ctx.remoteAddress,
    scheme: ctx.scheme,
    host: stripPort(req.headers.host ?? ''),
    localPort: ctx.localPort,
    path: pathOnly(req.url ?? '/'),
    // Kong: not when the stripped prefix is just `/`
    prefix: ctx.match === null || ctx.match.prefix === '/' ? null : (ctx.match.prefix ?? null),
    upstreamHost: up.hostHeader ?? (peer.port === defaultPort ? peerHost : `${peerHost}:${peer.port}`),
    requestId: ctx.headerPolicy.upstreamRequestId ? ctx.requestId : null,
    trusted: ctx.trustedClient,
    // a trusted connection may have named another client: X-Forwarded-For gets the connection's own
    socketAddress: ctx.trustedClient ? unmapped(req.socket.remoteAddress ?? '') : ctx.remoteAddress,
    via: viaFor(req.httpVersion),
  }
}

/** The gateway's headers on a proxied response, as the `headers` setting allows them. */
function ownResponseHeaders(ctx: ProxyContext, upstreamStatus: number): string[] {
  const p = ctx.headerPolicy
  const own: string[] = []
  if (p.upstreamLatency) own.push('x-kong-upstream-latency', String(ctx.latencies.upstream ?? 0))
  if (p.proxyLatency) own.push('x-kong-proxy-latency', String(ctx.latencies.proxy ?? 0))
  if (p.upstreamStatus) own.push('x-kong-upstream-status', String(upstreamStatus))
  if (p.requestId) own.push('x-kong-request-id', ctx.requestId)
  return own
}

/** Streams the upstream response to the client; resolves when the client has it all. */
export function responsePhase(ctx: ProxyContext, up: UpstreamResponse): Promise<void> {
  ctx.phase = 'response'
  if (!ctx.responseBodyTransforms && !ctx.hashCookie && !responseHandlerRan(ctx)) {
    // no plugin sees the response (headers plugins set in access are added like the
    // gateway's own): write the headers from a flat array
    const own = ownResponseHeaders(ctx, up.statusCode)
    if (ctx.responseHeaders === null || addPluginHeaders(own, ctx.responseHeaders)) {
      const list = clientResponseHeaderList(up.rawHeaders, ctx.headerPolicy.via ? VIA : null, own, ctx.req.headers.te !== undefined && wantsTrailers(ctx.req.headers.te))
      ctx.res.writeHead(up.statusCode, reasonFor(up, up.statusCode), list as unknown as OutgoingHttpHeaders)
      return streamBody(ctx, up)
    }
  }
  const headers = clientResponseHeaders(up.headers, ctx.req.headers.te !== undefined && wantsTrailers(ctx.req.headers.te))
  if (ctx.headerPolicy.via) {
    const via = headers.via
    headers.via = via ? `${Array.isArray(via) ? via.join(', ') : via}, ${VIA}` : VIA
  }
  const own = ownResponseHeaders(ctx, up.statusCode)
  for (let j = 0; j < own.length; j += 2) headers[own[j]] = own[j + 1]
  if (ctx.hashCookie) setHashCookie(headers, ctx.hashCookie)
  const {status, ok} = pluginResponsePhase(ctx, up.statusCode, headers)
  if (!ok) {
    up.drop()
    return Promise.resolve()
  }
  // the request id is the gateway's, whatever a plugin set (Kong sets it after the plugins)
  if (ctx.headerPolicy.requestId) headers['x-kong-request-id'] = ctx.requestId
  if (ctx.responseBodyTransforms) return sendTransformed(ctx, up, status, headers)
  ctx.res.writeHead(status, reasonFor(up, status), headers)
  return streamBody(ctx, up)
}

/**
 * The reason phrase of a proxied response: the upstream's, as nginx passes the upstream's
 * status line on; the standard one (undefined) when a plugin changed the status (Kong's
 * `set_status` drops the upstream's line), when the upstream gave none, or when it holds
 * what a response head may not (a NUL, a control character: Node's check, which would
 * refuse to write it).
 */
function reasonFor(up: UpstreamResponse, status: number): string | undefined {
  const reason = up.statusMessage
  return status === up.statusCode && reason !== '' && !INVALID_HEADER_CHAR.test(reason) ? reason : undefined
}

/** Whether a plugin that ran in access has a response handler (it then sees the headers as an object). */
function responseHandlerRan(ctx: ProxyContext): boolean {
  const ran = ctx.plugins
  if (ran === null || ctx.pluginContext === null) return false
  for (let i = 0; i < ran.length; i++) if (ran[i].p.def.handler.response !== undefined) return true
  return false
}

/**
 * Adds the response headers plugins set (`setResponseHeader`, lower-case names) to the
 * gateway's own list, a name already there taking the plugin's value, as the object path's
 * `Object.assign` does. False (use the object path) for names the list path treats apart
 * (Via, hop-by-hop ones) and past the list's 31 entries.
 */
function addPluginHeaders(own: string[], set: Record<string, string>): boolean {
  for (const k in set) {
    if (k === 'via' || HOP_BY_HOP_NAMES.has(k)) return false
    let j = 0
    while (j < own.length && own[j] !== k) j += 2
    if (j < own.length) {
      if (k !== 'x-kong-request-id') own[j + 1] = set[k] // the gateway's request id stays
    }
    else own.push(k, set[k])
  }
  return own.length <= 62
}

/** Adds the generated hash cookie, replacing one of the same name the upstream set (as Kong). */
function setHashCookie(headers: Record<string, string | string[]>, cookie: string): void {
  const prefix = cookie.slice(0, cookie.indexOf('=') + 1)
  const set = headers['set-cookie']
  const list = set === undefined ? [] : Array.isArray(set) ? set : [set]
  headers['set-cookie'] = [...list.filter((c) => !c.startsWith(prefix)), cookie]
}

/** Writes the upstream body to the client as it comes; resolves when the client has it all or left. */
function streamBody(ctx: ProxyContext, up: UpstreamResponse): Promise<void> {
  return up.pipeTo(ctx.res, (err) => ctx.log.warn(`streaming the response failed: ${err.message}`))
}

/** A plugin rewrites the body: buffer it, apply the rewrites in order, send with a length. */
async function sendTransformed(ctx: ProxyContext, up: UpstreamResponse, status: number, headers: Record<string, string | string[]>): Promise<void> {
  let body: Buffer = await up.readAll()
  for (const fn of ctx.responseBodyTransforms!) body = fn(body, headers)
  delete headers['transfer-encoding']
  headers['content-length'] = String(body.length)
  ctx.res.writeHead(status, reasonFor(up, status), headers)
  ctx.res.end(body)
}
