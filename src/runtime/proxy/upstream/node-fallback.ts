/**
 * The public-API upstream client: `node:http`/`node:https` requests over a keep-alive
 * Agent per origin. Used when Node's internal llhttp binding (which the fast client in
 * connection.ts drives) is missing or behaves differently after a Node upgrade, and
 * with `KCTL_UPSTREAM_CLIENT=node`. Same contract as `OriginPool`: the same failures
 * (connect, connect-timeout, dns, timeout, error) with the same messages, the same
 * `UpstreamResponse`, one retry of a reused connection the upstream closed idle. Slower,
 * not different.
 */
import http from 'node:http'
import https from 'node:https'
import type {Socket} from 'node:net'
import type {Readable} from 'node:stream'
import {UpstreamResponse} from './exchange.js'
import {classifyConnect, KONG_KEEPALIVE, UpstreamFailure, type ClientRequest, type Keepalive, type Origin} from './types.js'

export class NodeOriginPool {
  private readonly agent: http.Agent
  private closed = false
  /** Requests started per socket, for `upstream_keepalive_max_requests` (an Agent has no such limit). */
  private readonly requests = new WeakMap<object, number>()

  constructor(readonly origin: Origin, readonly keepalive: Keepalive = KONG_KEEPALIVE) {
    const options = {keepAlive: keepalive.poolSize > 0, maxFreeSockets: Math.max(1, keepalive.poolSize), scheduling: 'lifo' as const, timeout: keepalive.idleTimeoutMs || undefined}
    this.agent = origin.tls ? new https.Agent({...options, rejectUnauthorized: origin.tlsVerify === true, servername: origin.servername, cert: origin.clientCertificate?.cert, key: origin.clientCertificate?.key, ALPNProtocols: ['http/1.1']}) : new http.Agent(options)
  }

  send(req: ClientRequest): Promise<UpstreamResponse> {
    return new Promise((resolve, reject) => this.try(req, resolve, reject, true))
  }

  /** Connections open (idle or busy). */
  get connections(): number {
    const count = (m: NodeJS.ReadOnlyDict<unknown[]>) => Object.values(m).reduce((n, l) => n + (l?.length ?? 0), 0)
    return count(this.agent.sockets) + count(this.agent.freeSockets)
  }

  close(): void {
    this.closed = true
    this.agent.destroy()
  }

  private try(req: ClientRequest, resolve: (r: UpstreamResponse) => void, reject: (e: UpstreamFailure) => void, mayRetry: boolean): void {
    if (this.closed) return reject(new UpstreamFailure('error', 'the proxy is shutting down'))
    const o = this.origin
    const headers: string[] = []
    let hasLength = false
    for (let i = 0; i < req.headers.length; i += 2) {
      const name = req.headers[i] as string
      const v = req.headers[i + 1]
      if (name === 'content-length') hasLength = true
      for (const one of typeof v === 'string' ? [v] : v) headers.push(name, one)
    }
    const length = req.body === null ? undefined : Buffer.isBuffer(req.body) ? req.body.length : req.bodyLength
    if (req.body !== null && !hasLength && length !== undefined) headers.push('content-length', String(length))
    const out = (o.tls ? https : http).request({host: o.host, port: o.port, lookup: o.lookup, method: req.method, path: req.path, headers: headers as unknown as http.OutgoingHttpHeaders, setHost: false, agent: this.agent})
    let connected = false
    let response: UpstreamResponse | null = null
    let done = false
    let connectTimer: NodeJS.Timeout | undefined
    const fail = (err: UpstreamFailure) => {
      clearTimeout(connectTimer)
      if (done) return
      done = true
      req.signal?.onAbort(null)
      out.destroy()
      if (response) response.fail(err)
      else reject(err)
    }
    // the response's own `socket` is gone by its 'end'
    let used: Socket | null = null
    out.on('socket', (socket) => {
      used = socket
      this.requests.set(socket, (this.requests.get(socket) ?? 0) + 1)
      const ready = () => {
        clearTimeout(connectTimer)
        connected = true
        out.setTimeout(req.readTimeout)
      }
      if (!socket.connecting) return ready()
      // ClientRequest.setTimeout starts only once connected: the connect phase has its own timer
      connectTimer = setTimeout(() => fail(new UpstreamFailure('connect-timeout', `connect timed out after ${o.connectTimeout} ms`)), o.connectTimeout)
      socket.once(o.tls ? 'secureConnect' : 'connect', ready)
    })
    out.on('timeout', () => {
      if (!connected) fail(new UpstreamFailure('connect-timeout', `connect timed out after ${o.connectTimeout} ms`))
      else if (!response) fail(new UpstreamFailure('timeout', 'upstream timed out reading response headers'))
      else fail(new UpstreamFailure('timeout', 'upstream timed out sending the response body'))
    })
    out.on('error', (err: Error & {code?: string}) => {
      if (done) return
      // a reused connection the upstream closed idle as the request went out: once more
      if (!response && out.reusedSocket && mayRetry && (req.body === null || Buffer.isBuffer(req.body) || req.replay)) {
        done = true
        req.signal?.onAbort(null)
        return this.try(req.replay ? Object.assign({}, req, {body: req.replay()}) : req, resolve, reject, false)
      }
      fail(!connected ? classifyConnect(err) : new UpstreamFailure('error', `${err.code ?? 'error'}: ${err.message}`))
    })
    out.on('response', (res) => {
      if (done) return res.destroy()
      const r = (response = new UpstreamResponse(res.statusCode ?? 502, res.rawHeaders, {pause: () => res.pause(), resume: () => res.resume(), destroy: () => res.destroy()}, res.statusMessage ?? ''))
      res.on('data', (chunk: Buffer) => r.push(chunk))
      res.on('end', () => {
        done = true
        req.signal?.onAbort(null)
        // its last request done, the connection is not kept (nginx's keepalive_requests)
        const {maxRequests} = this.keepalive
        if (maxRequests > 0 && used !== null && (this.requests.get(used) ?? 0) >= maxRequests) used.destroy()
        r.end()
      })
      res.on('aborted', () => fail(new UpstreamFailure('error', 'the upstream closed the connection mid-response')))
      res.on('error', () => fail(new UpstreamFailure('error', 'the upstream closed the connection mid-response')))
      req.signal?.onAbort(null)
      resolve(r)
    })
    req.signal?.onAbort(() => fail(new UpstreamFailure('error', 'the client closed the connection')))
    const body = req.body
    if (body === null) out.end()
    else if (Buffer.isBuffer(body)) out.end(body)
    else {
      ;(body as Readable).once('error', (err) => fail(err instanceof UpstreamFailure ? err : new UpstreamFailure('error', `reading the request body failed: ${err.message}`)))
      ;(body as Readable).pipe(out)
    }
  }
}
