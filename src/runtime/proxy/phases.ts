/**
 * The phases of one proxied request (the lifecycle is drawn in context.ts). Each phase
 * returns false when it answered the client itself, which ends the request.
 */
import type {IncomingMessage} from 'node:http'
import type {TLSSocket} from 'node:tls'
import {normalizePath} from '../router/normalize.js'
import {hostWithoutPort} from '../router/router.js'
import type {ProxyContext} from './context.js'
import {MESSAGES, sendEmpty, sendError} from './responses.js'
import {splitUrl} from '../pdk/request.js'

// The proxy's other files read these here; they live with the PDK, which plugins share.
export {splitUrl} from '../pdk/request.js'
export {readBody} from '../pdk/request-body.js'

const REDIRECTS = new Set([301, 302, 307, 308])
const NO_HEADERS: Record<string, string[]> = Object.freeze({}) as Record<string, string[]>

/** Finds the route; 404 when none. */
export function routerPhase(ctx: ProxyContext): boolean {
  ctx.phase = 'router'
  const {req} = ctx
  // Kong's nginx template refuses TRACE before routing, answered by its error page
  if (req.method === 'TRACE') {
    sendError(ctx, 405, MESSAGES[405], {}, true)
    return false
  }
  // nginx refuses an HTTP/1.1 request without Host (RFC 9112 §3.2); Kong's error page answers
  if (req.headers.host === undefined && req.httpVersionMinor === 1 && req.httpVersionMajor === 1) {
    ctx.res.shouldKeepAlive = false
    sendError(ctx, 400, MESSAGES[400], {}, true)
    return false
  }
  const {path} = splitUrl(req.url ?? '/')
  ctx.match = ctx.snapshot.router.match({
    method: req.method ?? 'GET',
    path: normalizePath(path),
    host: req.headers.host ?? '',
    // headersDistinct is built on first access (an array per header); only header rules need it
    headers: ctx.snapshot.router.usesHeaders ? req.headersDistinct : NO_HEADERS,
    scheme: ctx.scheme,
    sni: ctx.scheme === 'https' ? ((req.socket as TLSSocket & {servername?: string | false}).servername || undefined) : undefined,
    port: ctx.localPort,
  })
  if (!ctx.match) {
    sendError(ctx, 404, MESSAGES[404])
    return false
  }
  ctx.route = ctx.match.route
  ctx.service = ctx.match.service
  if (ctx.headerPolicy.debug && req.headers['kong-debug'] !== undefined) addDebugHeaders(ctx)
  return true
}

/**
 * Kong's `add_debug_headers`: set on the response at match time, so every answer to the
 * request carries them (the upstream's, a plugin's, a 503 for a route without service).
 */
function addDebugHeaders(ctx: ProxyContext): void {
  const {route, service, res} = ctx
  if (route?.id) res.setHeader('Kong-Route-Id', route.id)
  if (route?.name) res.setHeader('Kong-Route-Name', route.name)
  if (service?.id) res.setHeader('Kong-Service-Id', service.id)
  if (service?.name) res.setHeader('Kong-Service-Name', service.name)
}

/** Protocol checks, the service, and the upstream request (where access plugins will run). */
export function accessPhase(ctx: ProxyContext): boolean {
  ctx.phase = 'access'
  const {req} = ctx
  const route = ctx.route! // set by the router phase
  const protocols: readonly string[] = route.protocols ?? ['http', 'https']
  if (ctx.scheme === 'http' && protocols.includes('https') && !protocols.includes('http')) {
    const code = route.https_redirect_status_code ?? 426
    if (REDIRECTS.has(code)) {
      const host = hostWithoutPort(req.headers.host ?? '')
      sendEmpty(ctx, code, {location: `https://${host}${req.url ?? '/'}`})
    } else {
      sendError(ctx, 426, MESSAGES[426], {connection: 'Upgrade', upgrade: 'TLS/1.2, HTTP/1.1'})
    }
    return false
  }
  const service = ctx.service
  // a route without a service still runs its access plugins (which may answer), as Kong's;
  // `serviceCheck` answers 503 after them
  if (!service) return true
  const balancer = ctx.snapshot.balancers.get(String(service.host).toLowerCase()) ?? null
  const https = service.protocol === 'https'
  // Kong: the service's client certificate, else its upstream's
  const clientCertId: string | undefined = https ? (service.client_certificate?.id ?? balancer?.upstream.client_certificate?.id) : undefined
  ctx.upstream = {
    scheme: https ? 'https' : 'http',
    host: service.host,
    port: service.port ?? (service.protocol === 'https' ? 443 : 80),
    path: ctx.match!.upstreamPath + splitUrl(req.url ?? '/').query,
    hostHeader: route.preserve_host ? (req.headers.host ?? null) : (balancer?.upstream.host_header ?? null),
    balancer,
    clientCertificate: clientCertId ? ctx.snapshot.certificates.client(clientCertId) : null,
  }
  return true
}

/** After the access plugins: a route without a service ends here, as Kong's `access.after`. */
export function serviceCheck(ctx: ProxyContext): boolean {
  if (ctx.service) return true
  sendError(ctx, 503, MESSAGES.noService)
  return false
}

/** Whether the request carries a body (RFC 9112 §6.3). */
export function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (len !== undefined && len !== '0')
}
