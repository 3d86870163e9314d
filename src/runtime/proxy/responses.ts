/**
 * Responses the gateway produces itself, byte-compatible with Kong's error template
 * (kong/tools/http.lua): JSON, `Content-Type: application/json; charset=utf-8`,
 * `Server: kong/<version>`, and since Kong 3.6 the request id in the body.
 */
import type {ServerResponse} from 'node:http'
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

/** Writes a Kong-style JSON error; does nothing if headers already went out. */
export function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  requestId: string,
  headers: Record<string, string | number> = {},
): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = `{\n  "message":${JSON.stringify(message)},\n  "request_id":"${requestId}"\n}`
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    server: SERVER_HEADER,
    'x-kong-request-id': requestId,
  })
  res.end(body)
}

/** A response without a body (redirects), with Kong's usual headers. */
export function sendEmpty(res: ServerResponse, status: number, requestId: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.destroy()
  res.writeHead(status, {...headers, 'content-length': 0, server: SERVER_HEADER, 'x-kong-request-id': requestId})
  res.end()
}
