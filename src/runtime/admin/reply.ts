/** Replies of the Admin API: JSON bodies with Kong's headers. */
import type {IncomingMessage, ServerResponse} from 'node:http'
import {GatewayError} from '../db/errors.js'
import type {Logger} from '../kit/log.js'
import {bundledPlugins} from '../plugins/registry.js'
import {GATEWAY_VERSION} from '../kit/version.js'
import {BodyError} from './body.js'
import {parseTarget} from '../listeners/request-target.js'
import {allowedMethods} from './methods.js'
import {KONG_HEADERS, type HeaderPolicy} from '../proxy/kong-headers.js'

export interface Reply {
  status: number
  body?: unknown
  /** A body that is no JSON (`/metrics`), sent as is with the `Content-Type` in `headers`. */
  text?: string
  headers?: Record<string, string>
}

export const json = (status: number, body?: unknown, headers?: Record<string, string>): Reply => ({status, body, headers})
export const message = (status: number, text: string): Reply => ({status, body: {message: text}})
export const NOT_FOUND = message(404, 'Not found')
export const METHOD_NOT_ALLOWED = message(405, 'Method not allowed')
export const BAD_REQUEST = message(400, 'Bad request')
/** No entity's id or name holds a NUL byte (they are refused on write): such a path names nothing. */
const NUL_IN_PATH = /%00/

/**
 * The origin a reply allows (Kong's `cors_filter`): with `admin_gui_url` set, the request's
 * Origin when it is one of those origins, else the first; without, the request's Origin
 * (or `*`).
 */
export function allowedOrigin(origin: string | undefined, allowed: readonly string[]): string {
  if (allowed.length > 0) return origin !== undefined && allowed.includes(origin) ? origin : allowed[0]!
  return origin ?? '*'
}

/** What the node's settings add to every reply. */
export interface ReplyOptions {
  /** kong.conf `admin_gui_url`'s origins: the ones the Admin API allows (CORS); none: the request's. */
  origins?: readonly string[]
  /** kong.conf `headers`: whether Server and X-Kong-Admin-Latency are sent; Kong's defaults (both) if absent. */
  headers?: Pick<HeaderPolicy, 'server' | 'adminLatency'>
}

/**
 * Writes a reply with Kong's headers: Server and X-Kong-Admin-Latency as `headers` says
 * (Kong's admin_header_filter), the CORS ones (`cors_filter`, with credentials).
 */
export function send(req: IncomingMessage, res: ServerResponse, r: Reply, started: number, o: ReplyOptions = {}): void {
  if (res.headersSent) return void res.end()
  const payload = r.text ?? (r.body === undefined ? '' : JSON.stringify(r.body))
  const headers = o.headers ?? KONG_HEADERS
  res.statusCode = r.status
  if (headers.server) res.setHeader('Server', `kong/${GATEWAY_VERSION}`)
  if (headers.adminLatency) res.setHeader('X-Kong-Admin-Latency', String(Math.round(performance.now() - started)))
  res.setHeader('Access-Control-Allow-Origin', allowedOrigin(req.headers.origin, o.origins ?? []))
  res.setHeader('Access-Control-Allow-Credentials', 'true')
  if (payload && r.text === undefined) res.setHeader('Content-Type', 'application/json; charset=utf-8')
  for (const [k, v] of Object.entries(r.headers ?? {})) res.setHeader(k, v)
  res.setHeader('Content-Length', Buffer.byteLength(payload))
  res.end(payload)
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void
export type Router = (req: IncomingMessage, url: URL, method: string) => Promise<Reply>

/**
 * `OPTIONS` on any path the Admin API has: 204 with the methods it answers (Allow and
 * the CORS pre-flight headers, as Kong's `options_method`).
 */
function options(req: IncomingMessage, url: URL): Reply {
  const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent)
  const methods = allowedMethods(segments)
  if (!methods) return NOT_FOUND
  const requested = req.headers['access-control-request-headers']
  return {status: 204, headers: {Allow: methods, 'Access-Control-Allow-Methods': methods, 'Access-Control-Allow-Headers': typeof requested === 'string' && requested ? requested : 'Content-Type'}}
}

/**
 * Turns an Admin API router into a request handler: JSON replies, errors in Kong's
 * envelope; OPTIONS answered from the path's shape, HEAD as GET without the body.
 */
export function toHandler(route: Router, log: Logger, o: ReplyOptions = {}): RequestHandler {
  return (req, res) => {
    const started = performance.now()
    const url = parseTarget(req.url)
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET')
    // A throw anywhere below, even before the router's first await, becomes a reply: no
    // request may end the node.
    Promise.resolve()
      .then(() => (!url ? BAD_REQUEST : NUL_IN_PATH.test(url.pathname) ? NOT_FOUND : method === 'OPTIONS' ? options(req, url) : route(req, url, method)))
      .then(
        (r) => send(req, res, r, started, o),
        (err) => send(req, res, errorReply(err, log), started, o),
      )
      .catch((err) => {
        log.error(`admin API: could not answer ${req.method} ${req.url}: ${(err as Error)?.stack ?? String(err)}`)
        res.destroy()
      })
  }
}

function errorReply(err: unknown, log: Logger): Reply {
  if (err instanceof GatewayError) return json(err.status, err.toJSON())
  if (err instanceof BodyError) return message(err.status, err.message)
  if (err instanceof URIError) return message(400, 'Bad request: invalid URL encoding')
  log.error(`admin API: ${(err as Error)?.stack ?? String(err)}`)
  return message(500, 'An unexpected error occurred')
}

/** `GET /metrics` (the prometheus plugin's, as Kong's Admin API serves it); 404 on a node that proxies nothing. */
export async function metricsEndpoint(method: string, metrics: (() => Promise<string>) | undefined): Promise<Reply> {
  if (!metrics) return NOT_FOUND
  if (method !== 'GET') return METHOD_NOT_ALLOWED
  return {status: 200, text: await metrics(), headers: {'Content-Type': 'text/plain; charset=UTF-8'}}
}

/** `GET /plugins/enabled`, the same on every kind of node. */
export const enabledPlugins = (method: string): Reply =>
  method === 'GET' ? json(200, {enabled_plugins: bundledPlugins().map((p) => p.name)}) : METHOD_NOT_ALLOWED
