/**
 * A listening server for the proxy's HTTP/1.1 connections (connection.ts): a `net.Server`,
 * or a `tls.Server` whose secure connections are served the same way, that emits
 * `request` (req, res) and `clientError` (err, socket) as Node's `http.Server` does, so the
 * proxy's listeners and `stopAccepting` work with either. `closeIdleConnections()` as
 * Node's; the head and request timeouts are checked every `checkIntervalMs`.
 */
import net, {type Socket} from 'node:net'
import tls from 'node:tls'
import {DownstreamConnection, type ConnectionServer} from './connection.js'
import type {DownstreamRequest} from './request.js'
import type {DownstreamResponse} from './response.js'
import {LiveSet} from '../live-set.js'


export interface DownstreamServerOptions {
  /** Idle time between requests on a kept-alive connection (Node's `keepAliveTimeout`). */
  keepAliveTimeout: number
  /** Longest time to receive a request's head; Node's default (60 s) if absent. */
  headersTimeout?: number
  /** Longest time to receive a whole request; Node's default (300 s) if absent. */
  requestTimeout?: number
  /** How often the head and request timeouts are checked; Node's `connectionsCheckingInterval` (30 s) if absent. */
  checkIntervalMs?: number
  /** TLS: the secure context options (certificate, SNICallback…); plain TCP if absent. */
  tls?: tls.TlsOptions
}

export type DownstreamServer = net.Server & {
  /** Destroys the connections that are between requests (Node's `closeIdleConnections`). */
  closeIdleConnections(): void
}

export function createDownstreamServer(opts: DownstreamServerOptions, onRequest: (req: DownstreamRequest, res: DownstreamResponse) => void): DownstreamServer {
  const server = (opts.tls ? tls.createServer({...opts.tls}) : net.createServer({allowHalfOpen: true, noDelay: true})) as DownstreamServer
  const connections = new LiveSet<DownstreamConnection>()
  const owner: ConnectionServer = {
    keepAliveTimeout: opts.keepAliveTimeout,
    headersTimeout: opts.headersTimeout ?? 60_000,
    requestTimeout: opts.requestTimeout ?? 300_000,
    request: (req, res) => server.emit('request', req, res),
    clientError: (err, socket) => {
      if (server.listenerCount('clientError') > 0) server.emit('clientError', err, socket)
      else socket.destroy()
    },
    track: (conn) => connections.add(conn),
    forget: (entry) => connections.delete(entry),
  }
  server.on('request', onRequest)
  // a connection adds itself to the server's (`track`) and stays there until its socket closes
  const serve = (socket: Socket): void => void new DownstreamConnection(socket, owner)
  if (opts.tls) {
    server.on('secureConnection', serve)
    // a failed handshake goes to `clientError`, as Node's https.Server sends it
    server.on('tlsClientError', (err, socket) => owner.clientError(err, socket))
  } else server.on('connection', serve)
  let timer: NodeJS.Timeout | null = null
  server.on('listening', () => {
    timer = setInterval(() => {
      const now = Date.now()
      for (const c of connections) c.checkTimeouts(now)
    }, opts.checkIntervalMs ?? 30_000).unref()
  })
  server.on('close', () => {
    if (timer) clearInterval(timer)
  })
  server.closeIdleConnections = () => {
    for (const c of connections) c.closeIfIdle()
  }
  return server
}
