/** Replies of the Admin API: JSON bodies with Kong's headers. */
import type {ServerResponse} from 'node:http'
import {GATEWAY_VERSION} from '../version.js'

export interface Reply {
  status: number
  body?: unknown
  headers?: Record<string, string>
}

export const json = (status: number, body?: unknown, headers?: Record<string, string>): Reply => ({status, body, headers})
export const message = (status: number, text: string): Reply => ({status, body: {message: text}})
export const NOT_FOUND = message(404, 'Not found')
export const METHOD_NOT_ALLOWED = message(405, 'Method not allowed')

export function send(res: ServerResponse, r: Reply, started: number): void {
  const payload = r.body === undefined ? '' : JSON.stringify(r.body)
  res.statusCode = r.status
  res.setHeader('Server', `kong/${GATEWAY_VERSION}`)
  res.setHeader('X-Kong-Admin-Latency', String(Math.round(performance.now() - started)))
  res.setHeader('Access-Control-Allow-Origin', '*')
  if (payload) res.setHeader('Content-Type', 'application/json; charset=utf-8')
  for (const [k, v] of Object.entries(r.headers ?? {})) res.setHeader(k, v)
  res.setHeader('Content-Length', Buffer.byteLength(payload))
  res.end(payload)
}
