/**
 * The status listener (`status_listen`): `/status`, `/status/ready`, and `/metrics`
 * (Prometheus text) on nodes that proxy. It never exposes configuration, so it can
 * listen where the Admin API must not. A supervised node's `/status` also says how many
 * times its serving process was restarted after a crash (`restarts`) and the last crash
 * (`last_crash: {at, cause}`, null when none). Every node's `/status` says which kctl release its
 * code comes from (`kctl_version`): what `kctl upgrade` changes.
 */
import type {IncomingMessage, ServerResponse} from 'node:http'
import type {Logger} from '../kit/log.js'
import {runtimeVersion} from '../kit/version.js'
import {parseTarget} from './request-target.js'
import {stillStarting, supervisionStatus} from '../supervisor/serving.js'

export interface StatusDeps {
  status(): Promise<Record<string, unknown>>
  /** null when ready, else the reason for a 503. */
  ready(): Promise<string | null>
  /** Prometheus text for `/metrics`; absent on nodes without a proxy. */
  metrics?(): string | Promise<string>
  /** Where unexpected errors are logged. */
  log?: Pick<Logger, 'error'>
}

export function createStatusApi(deps: StatusDeps) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = parseTarget(req.url)?.pathname
    const reply = (status: number, body: unknown) => {
      const payload = JSON.stringify(body)
      res.writeHead(status, {'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(payload)})
      res.end(payload)
    }
    const run = async () => {
      if (path === undefined) return reply(400, {message: 'Bad request'})
      if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, {message: 'Method not allowed'})
      // restarts and last_crash: the supervisor's count of this node's crashes (supervisor/)
      if (path === '/status') return reply(200, {...(await deps.status()), ...supervisionStatus(), kctl_version: runtimeVersion()})
      if (path === '/status/ready') {
        const reason = stillStarting() ? 'starting' : await deps.ready()
        return reason ? reply(503, {message: reason}) : reply(200, {message: 'ready'})
      }
      if (path === '/metrics' && deps.metrics) {
        const text = await deps.metrics()
        res.writeHead(200, {'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Content-Length': Buffer.byteLength(text)})
        return void res.end(text)
      }
      reply(404, {message: 'Not found'})
    }
    // A throw anywhere in run() is a 500, never the end of the node.
    Promise.resolve()
      .then(run)
      .catch((err) => {
        deps.log?.error(`status API: ${(err as Error)?.stack ?? String(err)}`)
        if (res.headersSent) res.destroy()
        else reply(500, {message: 'An unexpected error occurred'})
      })
  }
}

/** The proxy's own counters, as its stats give them. */
export interface ProxyCounters {
  connections_active: number
  connections_accepted: number
  total_requests: number
  requests_in_flight: number
}

/**
 * The proxy's counters with Kong's `server` keys (nginx's stub_status): every accepted
 * connection is handled; connections serving a request are `writing`, idle keep-alive
 * ones `waiting`; a request's headers are read before it reaches the counters, so
 * `reading` is 0. `/status` and the prometheus gauges read them.
 */
export function connectionCounts(s: ProxyCounters) {
  const writing = Math.min(s.requests_in_flight, s.connections_active)
  return {
    connections_accepted: s.connections_accepted,
    connections_handled: s.connections_accepted,
    connections_active: s.connections_active,
    connections_reading: 0,
    connections_writing: writing,
    connections_waiting: s.connections_active - writing,
    total_requests: s.total_requests,
  }
}

/** `/status` `server`: Kong's keys (connectionCounts), kctl's own counters beside them. */
export function serverStatus(s: ProxyCounters | undefined): Record<string, unknown> {
  if (!s) return {}
  return {...s, ...connectionCounts(s)}
}
