/**
 * Responses the gateway produces itself, byte-compatible with Kong's error template
 * (kong/tools/http.lua): JSON, `Content-Type: application/json; charset=utf-8`,
 * `Server: kong/<version>`, and since Kong 3.6 the request id in the body.
 */
import type {ProxyContext} from './context.js'
import {GATEWAY_VERSION} from '../version.js'

export const MESSAGES = {
  404: 'no Route matched with those values',
  426: 'Please use HTTPS protocol',
  500: 'An unexpected error occurred',
  502: 'An invalid response was received from the upstream server',
  503: 'failure to get a peer from the ring-balancer',
  504: 'The upstream server is timed out',
  noService: 'no Service found with those values',
} as const

export const SERVER_HEADER = `kong/${GATEWAY_VERSION}`

/** What a response the gateway produces needs to know about its request. */
export type Responder = Pick<ProxyContext, 'res' | 'requestId' | 'startedAt' | 'headerPolicy'>

/**
 * The gateway's own headers on a response it produces (Server, X-Kong-Response-Latency,
 * X-Kong-Request-Id, as the `headers` setting allows), added to `headers`.
 */
export function generatedHeaders(r: Responder, headers: Record<string, string | number | string[]>): Record<string, string | number | string[]> {
  const p = r.headerPolicy
  if (p.server) headers.server = SERVER_HEADER
  if (p.responseLatency) headers['x-kong-response-latency'] = Math.round(performance.now() - r.startedAt)
  if (p.requestId) headers['x-kong-request-id'] = r.requestId
  return headers
}

/** Writes a Kong-style JSON error; does nothing if headers already went out. */
export function sendError(r: Responder, status: number, message: string, headers: Record<string, string | number | string[]> = {}): void {
  const {res} = r
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = `{\n  "message":${JSON.stringify(message)},\n  "request_id":"${r.requestId}"\n}`
  res.writeHead(status, generatedHeaders(r, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  }))
  res.end(body)
}

/** A response without a body (redirects), with the gateway's usual headers. */
export function sendEmpty(r: Responder, status: number, headers: Record<string, string> = {}): void {
  if (r.res.headersSent) return void r.res.destroy()
  r.res.writeHead(status, generatedHeaders(r, {...headers, 'content-length': 0}))
  r.res.end()
}
