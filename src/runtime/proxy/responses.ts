/**
 * Responses the gateway produces itself, byte-compatible with Kong's error templates
 * (kong/tools/http.lua): JSON, HTML, XML or plain text as negotiated (error-format.ts),
 * `Server: kong/<version>`, and since Kong 3.6 the request id in the body.
 */
import type {ProxyContext} from './context.js'
import {CONTENT_TYPES, errorBody, negotiateError, type ErrorFormat} from './error-format.js'
import {GATEWAY_VERSION} from '../kit/version.js'
import {mergeHeaders} from './headers.js'

export const MESSAGES = {
  400: 'Bad request',
  404: 'no Route matched with those values',
  405: 'Method not allowed',
  426: 'Please use HTTPS protocol',
  500: 'An unexpected error occurred',
  502: 'An invalid response was received from the upstream server',
  503: 'failure to get a peer from the ring-balancer',
  504: 'The upstream server is timing out',
  noService: 'no Service found with those values',
} as const

export const SERVER_HEADER = `kong/${GATEWAY_VERSION}`
/** The gateway's Via entry on a proxied response. */
export const VIA = `1.1 ${SERVER_HEADER}`

/** What a response the gateway produces needs to know about its request. */
export type Responder = Pick<ProxyContext, 'req' | 'res' | 'requestId' | 'startedAt' | 'headerPolicy' | 'errorDefaultType' | 'errorTemplates'> & Partial<Pick<ProxyContext, 'responseHeaders' | 'latencies' | 'plugins' | 'pluginContext' | 'ownResponseSeen' | 'responseBodyTransforms'>>

/**
 * The gateway's own headers on a response it produces (Server, X-Kong-Response-Latency,
 * X-Kong-Request-Id, as the `headers` setting allows), added to `headers` after the
 * plugins' (Kong's header_filter `after`): Server replaces a plugin's, or goes when the
 * setting leaves it out, unless a plugin set `Via` to the gateway's server token.
 * `proxied`: the upstream was tried and failed (a 502, a 504): Kong then sends the
 * proxied response's headers (Via, the proxy and upstream latencies) instead.
 */
export function generatedHeaders(r: Responder, headers: Record<string, string | number | string[]>, proxied = false): Record<string, string | number | string[]> {
  const p = r.headerPolicy
  if (proxied) {
    const lat = r.latencies
    if (p.upstreamLatency) headers['x-kong-upstream-latency'] = lat?.upstream ?? 0
    if (p.proxyLatency) headers['x-kong-proxy-latency'] = lat?.proxy ?? 0
    if (p.via) headers.via = VIA
    if (p.server && headers.server === undefined) headers.server = SERVER_HEADER
  } else {
    if (p.responseLatency) headers['x-kong-response-latency'] = Math.round(performance.now() - r.startedAt)
    if (!(p.via && headers.via === SERVER_HEADER)) {
      if (p.server) headers.server = SERVER_HEADER
      else delete headers.server
    }
  }
  if (p.requestId) headers['x-kong-request-id'] = r.requestId
  return headers
}

/**
 * Writes a Kong-style error in the format the client accepts; destroys the response if
 * headers already went out. `proxyFailure`: the upstream could not be reached or timed out
 * (Kong answers those from nginx's error pages, defaulting to `error_default_type`).
 */
export function sendError(r: Responder, status: number, message: string, headers: Record<string, string | number | string[]> = {}, proxyFailure = false): void {
  const {res} = r
  if (res.headersSent) {
    res.destroy()
    return
  }
  // a Content-Type the caller set picks the template (Kong's kong.response.error), else the request's
  const given = Object.keys(headers).find((k) => k.toLowerCase() === 'content-type')
  const format = given !== undefined ? negotiateError(String(headers[given])) : errorFormat(r, proxyFailure)
  const rest = given === undefined ? headers : Object.fromEntries(Object.entries(headers).filter(([k]) => k !== given))
  // headers plugins set for the response (correlation-id's echo, rate-limiting's) go on the
  // gateway's own errors too, as Kong's header_filter runs for them (a 502, a 503…)
  const fromPlugins = r.responseHeaders
  const body = errorBody(format, message, r.requestId, r.errorTemplates)
  // proxied: the upstream was tried (its latency is known)
  sendOwn(r, status, mergeHeaders<string | number | string[]>(fromPlugins, rest, {'content-type': CONTENT_TYPES[format]}), body, proxyFailure && r.latencies?.upstream !== undefined)
}

/**
 * Runs the response handlers of the plugins that ran (Kong's header_filter) on `status` and
 * `headers`, which they may change through `k.response`: the status they leave, or the
 * first that threw (which ends the run).
 */
export function runResponseHandlers(ran: NonNullable<Responder['plugins']>, k: NonNullable<Responder['pluginContext']>, status: number, headers: Record<string, string | string[]>): {status: number; failed?: {name: string; err: unknown}} {
  const response = {status, headers}
  k.response = response
  for (const {p, inst} of ran) {
    const handler = p.def.handler.response
    if (!handler) continue
    k.instance = inst
    k.plugin = p.def.handler
    try {
      handler(k, inst.config, p.data)
    } catch (err) {
      return {status, failed: {name: p.def.name, err}}
    }
  }
  return {status: response.status}
}

/**
 * The responses the gateway produces itself (a plugin's exit, a 401, a 502 from the
 * upstream) go through the response handlers of the plugins that ran too, as Kong runs
 * `header_filter` and `body_filter` on them: cors adds its headers to a key-auth 401,
 * response-transformer rewrites a JSON error body. Runs once per request; returns null
 * when no plugin has a response handler, `failed` when one threw (a 500 was sent).
 */
function pluginOwnResponse(r: Responder, status: number, headers: Record<string, string | string[]>, body: Buffer): {status: number; body: Buffer} | null | 'failed' {
  const ran = r.plugins
  const k = r.pluginContext
  if (!ran || !k || r.ownResponseSeen) return null
  r.ownResponseSeen = true
  if (!ran.some(({p}) => p.def.handler.response !== undefined)) return null
  if (r.responseHeaders) Object.assign(headers, r.responseHeaders)
  const before = r.responseBodyTransforms?.length ?? 0
  const {status: after, failed} = runResponseHandlers(ran, k, status, headers)
  if (failed) {
    k.log.error(`plugin ${failed.name} failed in response: ${(failed.err as Error)?.stack ?? String(failed.err)}`)
    sendError(r, 500, MESSAGES[500])
    return 'failed'
  }
  // transforms a handler registered just now apply to this body
  for (const fn of r.responseBodyTransforms?.slice(before) ?? []) body = fn(body, headers)
  return {status: after, body}
}

/**
 * Writes a response the gateway produced, after the response handlers of the plugins
 * that ran (Kong's header_filter/body_filter run on these too).
 */
export function sendOwn(r: Responder, status: number, headers: Record<string, string | number | string[]>, body: string | Buffer, proxied = false): void {
  if (r.plugins) {
    const lower: Record<string, string | string[]> = {}
    for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = typeof v === 'number' ? String(v) : v
    delete lower['content-length']
    const seen = pluginOwnResponse(r, status, lower, Buffer.from(body))
    if (seen === 'failed') return
    if (seen) {
      status = seen.status
      headers = lower
      body = seen.body
    }
  }
  // a 204 or 304 has no body, hence no Content-Length (RFC 9110 §8.6), as Kong's exit
  if (status === 204 || status === 304) {
    r.res.writeHead(status, generatedHeaders(r, headers, proxied))
    r.res.end()
    return
  }
  r.res.writeHead(status, generatedHeaders(r, mergeHeaders<string | number | string[]>(headers, {'content-length': Buffer.byteLength(body)}), proxied))
  r.res.end(body)
}

function errorFormat(r: Responder, proxyFailure: boolean): ErrorFormat {
  const h = r.req.headers
  if (h.accept !== undefined || !proxyFailure) return negotiateError(h.accept)
  return negotiateError(h['content-type'] ?? r.errorDefaultType)
}

/** A response without a body (redirects), with the gateway's usual headers. */
export function sendEmpty(r: Responder, status: number, headers: Record<string, string> = {}): void {
  if (r.res.headersSent) return void r.res.destroy()
  r.res.writeHead(status, generatedHeaders(r, mergeHeaders<string | number>(headers, {'content-length': 0})))
  r.res.end()
}
