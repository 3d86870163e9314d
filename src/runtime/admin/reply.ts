/** Replies of the Admin API: JSON bodies with Kong's headers. */
import type {IncomingMessage, ServerResponse} from 'node:http'
import {GatewayError} from '../errors.js'
import type {Logger} from '../log.js'
import {bundledPlugins} from '../plugins/registry.js'
import {GATEWAY_VERSION} from '../version.js'
import {BodyError} from './body.js'

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

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void

/** Turns an Admin API router into a request handler: JSON replies, errors in Kong's envelope. */
export function toHandler(route: (req: IncomingMessage, url: URL) => Promise<Reply>, log: Logger): RequestHandler {
  return (req, res) => {
    const started = performance.now()
    const url = new URL(req.url ?? '/', 'http://admin')
    route(req, url)
      .then((r) => send(res, r, started))
      .catch((err) => send(res, errorReply(err, log), started))
  }
}

function errorReply(err: unknown, log: Logger): Reply {
  if (err instanceof GatewayError) return json(err.status, err.toJSON())
  if (err instanceof BodyError) return message(err.status, err.message)
  if (err instanceof URIError) return message(400, 'Bad request: invalid URL encoding')
  log.error(`admin API: ${(err as Error)?.stack ?? String(err)}`)
  return message(500, 'An unexpected error occurred')
}

/** `GET /plugins/enabled`, the same on every kind of node. */
export const enabledPlugins = (method: string): Reply =>
  method === 'GET' ? json(200, {enabled_plugins: bundledPlugins().map((p) => p.name)}) : METHOD_NOT_ALLOWED
