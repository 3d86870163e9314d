/**
 * The upstream HTTP/1.1 client: keep-alive connections to one origin, a request head
 * written as one string, responses parsed by Node's own llhttp binding (the parser its
 * http module runs), and response bodies handed to the client response with write-side
 * backpressure and no stream in between.
 *
 * Why not a general-purpose client: per request, undici built request objects, validated
 * every header again (they come from Node's parser or from kctl itself) and parsed the
 * response in WebAssembly; that was most of the proxy's CPU time (see BENCHMARKS.md).
 *
 * One request at a time per connection (no pipelining). A connection that was reused
 * and closes before answering a single byte is tried once more on a new connection when
 * the body can be sent again: the upstream closed it idle as the request went out.
 */
import {createRequire} from 'node:module'
import net from 'node:net'
import tls from 'node:tls'
import type {Readable} from 'node:stream'

export type FailureKind = 'connect' | 'connect-timeout' | 'dns' | 'timeout' | 'error'

export class UpstreamFailure extends Error {
  constructor(readonly kind: FailureKind, message: string) {
    super(message)
    this.name = 'UpstreamFailure'
  }
}

/** What a pool connects to: one origin with its connection settings. */
export interface Origin {
  tls: boolean
  host: string
  port: number
  connectTimeout: number
  /** TLS only: verify the certificate; the server name to send (none for IP addresses). */
  tlsVerify?: boolean
  servername?: string
}

export interface ClientRequest {
  method: string
  path: string
  /**
   * `[name, value, …]` (values may be lists), names in lower case as they go on the wire.
   * Not checked again: they come from Node's parser, kctl, or plugins through `setListHeader`.
   */
  headers: Array<string | string[]>
  body: Buffer | Readable | null
  /** The body's length when known (a Readable over a buffer); else the headers' or chunked. */
  bodyLength?: number
  /** A fresh copy of a Readable body (over a buffer), for sending it once more. */
  replay?: () => Readable
  /** Longest wait for the response head and between two reads of the body. */
  readTimeout: number
  /** Cancels the try: calls the function set with `onAbort`. */
  signal?: {aborted: boolean; onAbort(fn: (() => void) | null): void}
}

interface Parser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void
  execute(data: Buffer): number | Error
  finish(): number | Error | undefined
  close(): void
  [key: number]: unknown
}
interface ParserClass {
  new (): Parser
  RESPONSE: number
  kOnMessageBegin: number
  kOnHeaders: number
  kOnHeadersComplete: number
  kOnBody: number
  kOnMessageComplete: number
  kLenientNone: number
}

/** Node's internal parser class; null when this Node has none (see `fastClientProblem`). */
const PARSER: ParserClass | null = (() => {
  try {
    return (createRequire(import.meta.url)('_http_common') as {HTTPParser?: ParserClass}).HTTPParser ?? null
  } catch {
    return null
  }
})()
const HTTPParser = PARSER ?? ({} as ParserClass)
const K_BEGIN = HTTPParser.kOnMessageBegin
const K_HEADERS = HTTPParser.kOnHeaders
const K_HEADERS_COMPLETE = HTTPParser.kOnHeadersComplete
const K_BODY = HTTPParser.kOnBody
const K_COMPLETE = HTTPParser.kOnMessageComplete

/**
 * Checks, once per process, that Node's internal llhttp binding is there and parses a small
 * known response as this client expects (status, headers, body, completion). Returns why
 * not, or null when it works: an internal API may change with any Node release, and the
 * proxy then falls back to the public client (upstream-client-node.ts).
 */
export function fastClientProblem(): string | null {
  if (!PARSER) return "Node's internal HTTP parser (_http_common.HTTPParser) is not available"
  try {
    const seen = {status: 0, headers: [] as string[], body: '', complete: false}
    const p = new PARSER()
    p.initialize(PARSER.RESPONSE, {}, 0, PARSER.kLenientNone)
    p[PARSER.kOnHeaders] = (h: string[]) => seen.headers.push(...h)
    p[PARSER.kOnHeadersComplete] = (_a: number, _b: number, h: string[] | undefined, _m: unknown, _u: unknown, status: number) => {
      seen.status = status
      seen.headers.push(...(h ?? []))
      return 0
    }
    p[PARSER.kOnBody] = (chunk: Buffer) => (seen.body += chunk.toString('latin1'))
    p[PARSER.kOnMessageComplete] = () => (seen.complete = true)
    const r = p.execute(Buffer.from('HTTP/1.1 201 Created\r\nX-Check: yes\r\nContent-Length: 2\r\n\r\nok', 'latin1'))
    p.close()
    if (r instanceof Error) return `Node's internal HTTP parser failed on a known response: ${r.message}`
    const ok = seen.status === 201 && seen.headers.join('|') === 'X-Check|yes|Content-Length|2' && seen.body === 'ok' && seen.complete
    return ok ? null : `Node's internal HTTP parser does not behave as expected (status ${seen.status}, headers ${seen.headers.join(',')}, body ${JSON.stringify(seen.body)})`
  } catch (err) {
    return `Node's internal HTTP parser failed its check: ${(err as Error).message}`
  }
}

/**
 * Kong's upstream keepalive settings (`upstream_keepalive_*` in kong.conf), per proxy
 * process and origin: idle connections kept (0: none, every request on a new connection),
 * requests per connection (0: no limit), idle time in ms (0: no limit; an upstream's
 * `Keep-Alive: timeout=N` shortens it to 1 s before the upstream would close).
 */
export interface Keepalive {
  poolSize: number
  maxRequests: number
  idleTimeoutMs: number
}

export const KONG_KEEPALIVE: Keepalive = {poolSize: 512, maxRequests: 10_000, idleTimeoutMs: 60_000}
/** Body bytes held for a response nobody reads yet before the socket is paused. */
const QUEUE_BYTES = 64 * 1024
const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL'])
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL'])
const SHUTTING_DOWN = () => new UpstreamFailure('error', 'the proxy is shutting down')

/** Connections to one origin; idle ones are reused last-in first-out. */
export class OriginPool {
  private readonly idle: Connection[] = []
  private readonly all = new Set<Connection>()
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
        this.connect().start(req.replay ? {...req, body: req.replay()} : req, resolve, reject, null)
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
    conn.socket.setTimeout(idleMs)
    conn.socket.unref()
    if (this.idle.length >= poolSize) this.idle.shift()!.destroy()
    this.idle.push(conn)
  }

  /** @internal */
  forget(conn: Connection): void {
    this.all.delete(conn)
    const i = this.idle.indexOf(conn)
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
        rejectUnauthorized: o.tlsVerify === true,
        ALPNProtocols: ['http/1.1'],
        session: this.session,
      })
      s.on('session', (session: Buffer) => (this.session = session))
      socket = s
    } else {
      socket = net.connect({host: o.host, port: o.port})
    }
    const conn = new Connection(this, socket, o.tls ? 'secureConnect' : 'connect', o.connectTimeout)
    this.all.add(conn)
    return conn
  }
}

type Resolve = (res: UpstreamResponse) => void
type Reject = (err: UpstreamFailure) => void

/** One upstream connection; at most one exchange at a time. */
class Connection {
  private readonly parser: Parser
  private connected = false
  private reused = false
  private closed = false
  private error: (Error & {code?: string}) | null = null
  // the exchange in flight
  private req: ClientRequest | null = null
  private resolve: Resolve | null = null
  private reject: Reject | null = null
  private retry: (() => void) | null = null
  private response: UpstreamResponse | null = null
  private received = false
  private upload: {body: Readable; stop: () => void} | null = null
  private keepAlive = true
  /** What the last response's `Keep-Alive: timeout=N` leaves, in ms; null without one. */
  private hintMs: number | null = null
  /** Exchanges started on this connection (upstream_keepalive_max_requests). */
  private requests = 0
  private headerParts: string[] | null = null
  private informational = false

  constructor(private readonly pool: OriginPool, readonly socket: net.Socket, connectEvent: string, connectTimeout: number) {
    socket.setNoDelay(true)
    socket.setTimeout(connectTimeout)
    socket.once(connectEvent, () => {
      this.connected = true
      // while a streamed body goes out, its write_timeout watch is the only clock (see sendBody)
      if (this.req) socket.setTimeout(this.upload ? 0 : this.req.readTimeout)
    })
    const p = (this.parser = new HTTPParser())
    p.initialize(HTTPParser.RESPONSE, {}, 0, HTTPParser.kLenientNone)
    // bytes after the response, in the read that ended it: the upstream sent more than it
    // said (or answers nobody asked for); they would pass for the next request's answer
    p[K_BEGIN] = () => {
      if (!this.req) this.socket.destroy()
    }
    p[K_HEADERS] = (headers: string[]) => (this.headerParts ??= []).push(...headers)
    p[K_HEADERS_COMPLETE] = this.onHead
    p[K_BODY] = (chunk: Buffer) => this.response?.push(chunk)
    p[K_COMPLETE] = this.onComplete
    socket.on('data', this.onData)
    socket.on('end', this.onEnd)
    socket.on('error', (err) => (this.error ??= err))
    socket.on('timeout', this.onTimeout)
    socket.on('close', this.onClose)
    socket.on('drain', this.onDrain)
  }

  start(req: ClientRequest, resolve: Resolve, reject: Reject, retry: (() => void) | null): void {
    this.requests++
    this.req = req
    this.resolve = resolve
    this.reject = reject
    this.retry = retry
    this.received = false
    this.keepAlive = true
    if (this.reused) {
      this.socket.ref()
      this.socket.setTimeout(req.readTimeout)
    }
    this.reused = true
    req.signal?.onAbort(this.onAbort)
    this.write(req)
  }

  destroy(): void {
    this.socket.destroy()
  }

  /** Stops reading while the client is full; its slowness is not the upstream's timeout. */
  pause(): void {
    this.socket.pause()
    this.socket.setTimeout(0)
  }

  resume(): void {
    if (this.closed || !this.socket.isPaused()) return
    this.socket.resume()
    this.socket.setTimeout(this.req?.readTimeout ?? 0)
  }

  private write(req: ClientRequest): void {
    const {body} = req
    let framing: 'none' | 'length' | 'chunked' = 'none'
    let head = `${req.method} ${req.path} HTTP/1.1\r\n`
    const h = req.headers
    for (let i = 0; i < h.length; i += 2) {
      const name = h[i] as string
      const v = h[i + 1]
      if (name === 'content-length' && body !== null) framing = 'length'
      if (typeof v === 'string') head += `${name}: ${v}\r\n`
      else for (const one of v) head += `${name}: ${one}\r\n`
    }
    if (body !== null && framing === 'none') {
      const length = Buffer.isBuffer(body) ? body.length : req.bodyLength
      if (length !== undefined) head += `content-length: ${length}\r\n`
      else {
        head += 'transfer-encoding: chunked\r\n'
        framing = 'chunked'
      }
    }
    head += '\r\n'
    const s = this.socket
    if (body === null) {
      s.write(head, 'latin1')
    } else if (Buffer.isBuffer(body)) {
      s.cork()
      s.write(head, 'latin1')
      s.write(body)
      s.uncork()
    } else {
      s.write(head, 'latin1')
      this.sendBody(body, framing === 'chunked')
    }
  }

  /** Streams a body: pauses it while the socket's buffer is full, fails the try on its error. */
  private sendBody(body: Readable, chunked: boolean): void {
    const s = this.socket
    const onData = (chunk: Buffer) => {
      if (chunk.length === 0) return
      const ok = chunked ? (s.write(`${chunk.length.toString(16)}\r\n`, 'latin1'), s.write(chunk), s.write('\r\n', 'latin1')) : s.write(chunk)
      if (!ok) body.pause()
    }
    const onEnd = () => {
      this.stopUpload()
      if (chunked && !this.closed) s.write('0\r\n\r\n', 'latin1')
      // not on a response paused for a slow client: its resume() starts the clock again
      if (this.connected && this.req && !s.isPaused()) s.setTimeout(this.req.readTimeout)
    }
    const onError = (err: Error) => {
      this.stopUpload()
      this.fail(err instanceof UpstreamFailure ? err : new UpstreamFailure('error', `reading the request body failed: ${err.message}`))
    }
    this.upload = {body, stop: () => body.off('data', onData).off('end', onEnd).off('error', onError)}
    // read_timeout starts once the request is sent (nginx's proxy_read_timeout): a client slow
    // to send is not the upstream's delay; an upstream that stops reading meets write_timeout
    if (this.connected) s.setTimeout(0)
    body.on('data', onData)
    body.once('end', onEnd)
    body.once('error', onError)
    body.resume()
  }

  /**
   * Detaches from the body. One cut short (an answer or a failure before its end) is
   * destroyed: half sent, it is of no use to anyone, and left paused it would still hold
   * its source and timers.
   */
  private stopUpload(cutShort = false): void {
    const upload = this.upload
    this.upload = null
    upload?.stop()
    if (cutShort) upload?.body.destroy()
  }

  private readonly onDrain = () => {
    if (this.upload?.body.isPaused()) this.upload.body.resume()
  }

  private readonly onData = (data: Buffer) => {
    if (!this.req) {
      // bytes from an idle connection: the upstream is not speaking HTTP/1.1 as agreed
      this.socket.destroy()
      return
    }
    this.received = true
    const r = this.parser.execute(data)
    if (r instanceof Error) this.fail(new UpstreamFailure('error', `invalid response from the upstream: ${(r as {reason?: string}).reason ?? r.message}`))
  }

  private readonly onEnd = () => {
    if (this.req && this.received) {
      // a body delimited by the connection's end completes here
      const r = this.parser.finish()
      if (r instanceof Error) this.fail(new UpstreamFailure('error', 'the upstream closed the connection mid-response'))
    }
    this.socket.destroy()
  }

  private readonly onHead = (
    _major: number, _minor: number, headers: string[] | undefined, _method: unknown, _url: unknown,
    status: number, _message: string, _upgrade: boolean, keepAlive: boolean,
  ): number => {
    if (!this.req) return 0 // the exchange failed earlier in this read
    if (status < 200) {
      // 100 Continue, 103 Early Hints: not the response; 101 would take over the connection
      if (status === 101) {
        this.fail(new UpstreamFailure('error', 'the upstream switched protocols, which is not supported'))
        return 0
      }
      this.informational = true
      this.headerParts = null
      return 0
    }
    let raw = headers ?? []
    if (this.headerParts) {
      raw = this.headerParts.concat(raw)
      this.headerParts = null
    }
    this.keepAlive = keepAlive
    this.hintMs = null // a hint holds for the response that carries it
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i].length === 10 && raw[i].toLowerCase() === 'keep-alive') this.hintMs = idleFromHint(raw[i + 1])
    }
    const res = (this.response = new UpstreamResponse(status, raw, this))
    // answered while a streamed body still goes out: its body is read within read_timeout
    if (this.upload) this.socket.setTimeout(this.req!.readTimeout)
    const resolve = this.resolve!
    this.resolve = this.reject = this.retry = null
    this.req!.signal?.onAbort(null)
    resolve(res)
    return this.req!.method === 'HEAD' || status === 204 || status === 304 ? 1 : 0
  }

  private readonly onComplete = () => {
    if (this.informational) {
      this.informational = false
      return
    }
    const res = this.response
    if (!res) return
    // an answer before the whole request body went out (413, …): the connection cannot be reused
    const {maxRequests} = this.pool.keepalive
    const reusable = this.keepAlive && this.upload === null && (maxRequests === 0 || this.requests < maxRequests)
    this.stopUpload(true)
    this.req = this.response = null
    res.end()
    if (this.socket.isPaused()) this.socket.resume() // paused for that body; the next exchange reads
    if (reusable) this.pool.release(this, this.hintMs)
    else this.socket.destroy()
  }

  private readonly onTimeout = () => {
    if (!this.req) return this.socket.destroy() // idle too long
    if (!this.connected) this.fail(new UpstreamFailure('connect-timeout', `connect timed out after ${this.pool.origin.connectTimeout} ms`))
    else if (!this.response) this.fail(new UpstreamFailure('timeout', 'upstream timed out reading response headers'))
    else this.fail(new UpstreamFailure('timeout', 'upstream timed out sending the response body'))
  }

  private readonly onAbort = () => {
    this.fail(new UpstreamFailure('error', 'the client closed the connection'))
  }

  private readonly onClose = () => {
    this.closed = true
    this.pool.forget(this)
    if (this.req) {
      const err = this.error
      if (err && !this.connected) this.fail(classifyConnect(err))
      else if (!this.received && this.retry) this.fail(null) // reused, and closed by the upstream as it went out
      else this.fail(new UpstreamFailure('error', err ? `${err.code ?? 'error'}: ${err.message}` : 'the upstream closed the connection'))
    }
    const p = this.parser
    setImmediate(() => p.close())
  }

  /**
   * Ends the exchange with `err`: before the response head the try fails (or, with `null`,
   * goes once more on a fresh connection); after it the body fails. The connection goes.
   */
  private fail(err: UpstreamFailure | null): void {
    const {req, reject, retry, response} = this
    if (!req) return
    req.signal?.onAbort(null)
    this.req = this.response = null
    this.resolve = this.reject = this.retry = null
    this.stopUpload(true)
    if (!this.closed) this.socket.destroy()
    if (response) response.fail(err ?? new UpstreamFailure('error', 'the upstream closed the connection'))
    else if (err === null && retry) retry()
    else reject?.(err ?? new UpstreamFailure('error', 'the upstream closed the connection'))
  }
}

/** Where a response body comes from: a connection of this client, or the public client's response. */
export interface BodySource {
  pause(): void
  resume(): void
  destroy(): void
}

/**
 * An upstream response: status, headers as received (`[name, value, …]`, names in the
 * upstream's case) and a body read once: piped into a client response, read whole, or
 * dropped. Body bytes that arrive before a reader are held (the socket pauses past 64 KiB).
 */
export class UpstreamResponse {
  private queue: Buffer[] | null = null
  private queued = 0
  private state: 'open' | 'ended' | 'failed' = 'open'
  private failure: Error | null = null
  private reader: ((chunk: Buffer | null, err?: Error) => void) | null = null
  private closeHooks: Array<() => void> | null = null
  private byName: Record<string, string | string[]> | null = null

  constructor(readonly statusCode: number, readonly rawHeaders: string[], private conn: BodySource | null) {}

  /** Lower-case names; repeated headers as lists (set-cookie, …). */
  get headers(): Record<string, string | string[]> {
    if (this.byName) return this.byName
    const out: Record<string, string | string[]> = {}
    const raw = this.rawHeaders
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i].toLowerCase()
      const prev = out[k]
      out[k] = prev === undefined ? raw[i + 1] : Array.isArray(prev) ? [...prev, raw[i + 1]] : [prev, raw[i + 1]]
    }
    return (this.byName = out)
  }

  /** Runs `fn` once the body is done with: read to its end, failed, or dropped. */
  onClose(fn: () => void): void {
    if (this.state !== 'open' && this.reader === null && this.queue === null) fn()
    else (this.closeHooks ??= []).push(fn)
  }

  /**
   * Writes the body to `res` as it comes (pausing the upstream while `res` is full) and
   * ends it. Resolves when `res` closes; a client that goes away drops the upstream
   * connection; an upstream failure mid-body destroys `res` after `onError`.
   */
  pipeTo(res: NodeJS.WritableStream & {destroy(): void; once(e: string, fn: () => void): unknown}, onError: (err: Error) => void): Promise<void> {
    return new Promise((resolve) => {
      res.once('close', () => {
        if (this.state === 'open') this.drop()
        resolve()
      })
      let waiting = false
      const onDrain = () => {
        waiting = false
        this.conn?.resume()
      }
      this.read((chunk, err) => {
        if (err) {
          onError(err)
          res.destroy()
        } else if (chunk === null) {
          res.end()
        } else if (!res.write(chunk) && !waiting) {
          waiting = true
          this.conn?.pause()
          res.once('drain', onDrain)
        }
      })
    })
  }

  /** The whole body. */
  readAll(): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = []
      this.read((chunk, err) => {
        if (err) reject(err)
        else if (chunk === null) resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks))
        else chunks.push(chunk)
      })
    })
  }

  /** Nobody will read the body: the connection is closed unless it already ended. */
  drop(): void {
    if (this.state === 'open') {
      this.state = 'failed'
      const conn = this.conn
      this.conn = null
      conn?.destroy()
    }
    this.queue = null
    this.reader = null
    this.closed()
  }

  /** @internal body bytes from the parser */
  push(chunk: Buffer): void {
    if (this.state !== 'open') return
    if (this.reader) return this.reader(chunk)
    ;(this.queue ??= []).push(chunk)
    this.queued += chunk.length
    if (this.queued > QUEUE_BYTES) this.conn?.pause()
  }

  /** @internal the body ended */
  end(): void {
    if (this.state !== 'open') return
    this.state = 'ended'
    this.conn = null
    if (this.reader) {
      this.reader(null)
      this.reader = null
      this.closed()
    }
  }

  /** @internal the body failed */
  fail(err: Error): void {
    if (this.state !== 'open') return
    this.state = 'failed'
    this.failure = err
    this.conn = null
    if (this.reader) {
      this.reader(null, err)
      this.reader = null
      this.closed()
    }
  }

  private read(fn: (chunk: Buffer | null, err?: Error) => void): void {
    if (this.reader) throw new Error('the upstream body is already being read')
    const queue = this.queue
    this.queue = null
    this.queued = 0
    if (queue) for (const chunk of queue) fn(chunk)
    if (this.state === 'ended') {
      fn(null)
      this.closed()
    } else if (this.state === 'failed') {
      fn(null, this.failure ?? new Error('the upstream body was dropped'))
      this.closed()
    } else {
      this.reader = fn
      this.conn?.resume()
    }
  }

  private closed(): void {
    const hooks = this.closeHooks
    this.closeHooks = null
    if (hooks) for (const fn of hooks) fn()
  }
}

/** `Keep-Alive: timeout=5` → close 1 s before the upstream would (5 → 4 s); null without a timeout. */
function idleFromHint(value: string): number | null {
  const m = /timeout=(\d+)/i.exec(value)
  return m ? Math.max(0, Number(m[1]) * 1000 - 1000) : null
}

export function classifyConnect(err: Error & {code?: string}): UpstreamFailure {
  const code = err.code ?? ''
  if (CONNECT_CODES.has(code)) return new UpstreamFailure('connect', `${code}: ${err.message}`)
  if (DNS_CODES.has(code)) return new UpstreamFailure('dns', `name resolution failed: ${err.message}`)
  return new UpstreamFailure('error', code ? `${code}: ${err.message}` : err.message)
}
