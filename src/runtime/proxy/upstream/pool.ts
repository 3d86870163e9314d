/**
 * The pool per origin: keep-alive connections to one origin, idle ones reused last-in
 * first-out and kept within Kong's `upstream_keepalive_*` limits, and the one retry of a
 * reused connection that the upstream closed idle as the request went out. Opens the
 * sockets (TCP, or TLS with session resumption); what happens on them is connection.ts.
 */
import net from 'node:net'
import tls from 'node:tls'
import {Connection, type ConnectionOwner} from './connection.js'
import type {UpstreamResponse} from './exchange.js'
import {KONG_KEEPALIVE, UpstreamFailure, type ClientRequest, type Keepalive, type Origin} from './types.js'
import {LiveSet, type LiveEntry} from '../live-set.js'

const SHUTTING_DOWN = () => new UpstreamFailure('error', 'the proxy is shutting down')

/** Connections to one origin; idle ones are reused last-in first-out. */
export class OriginPool implements ConnectionOwner {
  private readonly idle: Connection[] = []
  private readonly all = new LiveSet<Connection>()
  private session: Buffer | undefined
  private closed = false

  constructor(readonly origin: Origin, readonly keepalive: Keepalive = KONG_KEEPALIVE) {}

  send(req: ClientRequest): Promise<UpstreamResponse> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(SHUTTING_DOWN())
      const replayable = req.body === null || Buffer.isBuffer(req.body) || req.replay !== undefined
      let conn = this.idle.pop()
      while (conn?.socket.destroyed) conn = this.idle.pop()
      if (!conn) return this.connect().start(req, resolve, reject, null)
      // A reused connection the upstream closed idle: once more on a fresh one (not when
      // it was `close()` that closed it).
      const again = () => {
        if (this.closed) return reject(SHUTTING_DOWN())
        this.connect().start(req.replay ? Object.assign({}, req, {body: req.replay()}) : req, resolve, reject, null)
      }
      conn.start(req, resolve, reject, replayable ? again : null)
    })
  }

  /** Connections open (idle or busy); 0 once the idle ones timed out. */
  get connections(): number {
    return this.all.size
  }

  close(): void {
    this.closed = true
    for (const c of this.all) c.destroy()
    this.all.clear()
    this.idle.length = 0
  }

  /**
   * @internal a connection that finished its exchange and may be reused; `hintMs` is what
   * the upstream's Keep-Alive header leaves (null without one). A full pool lets its
   * longest-idle connection go, as nginx's keepalive cache does.
   */
  release(conn: Connection, hintMs: number | null): void {
    const {poolSize, idleTimeoutMs} = this.keepalive
    // no time left before the upstream closes it (`Keep-Alive: timeout=1`)
    if (this.closed || poolSize === 0 || (hintMs !== null && hintMs <= 0)) return conn.destroy()
    const idleMs = hintMs === null ? idleTimeoutMs : idleTimeoutMs === 0 ? hintMs : Math.min(idleTimeoutMs, hintMs)
    conn.arm(idleMs)
    conn.socket.unref()
    if (this.idle.length >= poolSize) this.idle.shift()!.destroy()
    this.idle.push(conn)
  }

  /** @internal */
  track(conn: Connection): LiveEntry<Connection> {
    return this.all.add(conn)
  }

  /** @internal */
  forget(entry: LiveEntry<Connection>): void {
    this.all.delete(entry)
    const i = this.idle.indexOf(entry.value)
    if (i >= 0) this.idle.splice(i, 1)
  }

  private connect(): Connection {
    const o = this.origin
    let socket: net.Socket
    if (o.tls) {
      const s = tls.connect({
        host: o.host,
        port: o.port,
        servername: o.servername,
        cert: o.clientCertificate?.cert,
        key: o.clientCertificate?.key,
        rejectUnauthorized: o.tlsVerify === true,
        ALPNProtocols: ['http/1.1'],
        session: this.session,
        lookup: o.lookup,
      })
      s.on('session', (session: Buffer) => (this.session = session))
      socket = s
    } else {
      socket = net.connect({host: o.host, port: o.port, lookup: o.lookup})
    }
    return new Connection(this, socket, o.tls ? 'secureConnect' : 'connect', o.connectTimeout)
  }
}
