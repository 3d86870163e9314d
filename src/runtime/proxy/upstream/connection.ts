/**
 * One upstream connection (HTTP/1.1, keep-alive): its socket, its llhttp parser (Node's own
 * binding, parser.ts), and the exchange in flight, at most one at a time (no pipelining):
 * connect and read timeouts, the request body streamed with write-side backpressure, the
 * response handed over as soon as its head is parsed, and whether the connection can go
 * back to its pool afterwards (Keep-Alive, `upstream_keepalive_max_requests`).
 *
 * Why not a general-purpose client: per request, undici built request objects, validated
 * every header again (they come from Node's parser or from kctl itself) and parsed the
 * response in WebAssembly; that was most of the proxy's CPU time (see BENCHMARKS.md).
 */
import type net from 'node:net'
import type {Readable} from 'node:stream'
import {UpstreamResponse, writeRequest} from './exchange.js'
import {consumeReads, HTTPParser, K_BEGIN, K_BODY, K_COMPLETE, K_HEADERS, K_HEADERS_COMPLETE, socketReads, type Parser, type Reads} from './parser.js'
import {classifyConnect, UpstreamFailure, type ClientRequest, type Keepalive, type Origin} from './types.js'
import type {LiveEntry} from '../live-set.js'

/** The pool a connection belongs to (pool.ts): its settings, and where the connection goes next. */
export interface ConnectionOwner {
  readonly origin: Origin
  readonly keepalive: Keepalive
  /** The exchange ended and the connection may be reused; `hintMs` as in `OriginPool.release`. */
  release(conn: Connection, hintMs: number | null): void
  /** A new connection: counted among the pool's open ones until it is forgotten. */
  track(conn: Connection): LiveEntry<Connection>
  /** The connection closed. */
  forget(entry: LiveEntry<Connection>): void
}

type Resolve = (res: UpstreamResponse) => void
type Reject = (err: UpstreamFailure) => void

/** One upstream connection; at most one exchange at a time. */
export class Connection {
  private readonly parser: Parser
  /** How the socket is read: its `data` events until connected, then the parser itself when it can (`consumeReads`). */
  private reader: Reads
  /** What a parser callback threw during a read the parser took itself; the exchange then fails. */
  private thrown: Error | null = null
  /**
   * A response whose head came in a read the parser took itself: handed over once that whole
   * read is parsed, as from `execute`, so a body that came with the head is there already
   * (and goes to the client with its head in one write).
   */
  private parsed: {resolve: Resolve; res: UpstreamResponse} | null = null
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
  /** The socket's timeout as last set (`arm`). */
  private timeoutMs = -1
  /** Its place among the pool's open connections. */
  private readonly entry: LiveEntry<Connection>

  constructor(private readonly pool: ConnectionOwner, readonly socket: net.Socket, connectEvent: string, connectTimeout: number) {
    socket.setNoDelay(true)
    this.arm(connectTimeout)
    this.reader = socketReads(socket)
    socket.once(connectEvent, () => {
      this.connected = true
      // the connected socket's own handle (connecting may have tried others); no read has come yet
      if (!this.closed) this.reader = consumeReads(this.parser, socket, this.onExecute)
      // while a streamed body goes out, its write_timeout watch is the only clock (see sendBody)
      if (this.req) this.arm(this.upload ? 0 : this.req.readTimeout)
    })
    const p = (this.parser = new HTTPParser())
    p.initialize(HTTPParser.RESPONSE, {}, 0, HTTPParser.kLenientNone)
    // bytes after the response, in the read that ended it: the upstream sent more than it
    // said (or answers nobody asked for); they would pass for the next request's answer
    p[K_BEGIN] = () => {
      if (!this.req) this.socket.destroy()
      else this.received = true
    }
    p[K_HEADERS] = (headers: string[]) => (this.headerParts ??= []).push(...headers)
    p[K_HEADERS_COMPLETE] = this.onHead
    p[K_BODY] = this.onBody
    p[K_COMPLETE] = this.onComplete
    socket.on('data', this.onData)
    socket.on('end', this.onEnd)
    socket.on('error', (err) => (this.error ??= err))
    socket.on('timeout', this.onTimeout)
    socket.on('close', this.onClose)
    socket.on('drain', this.onDrain)
    // once its close listener is there to forget it
    this.entry = pool.track(this)
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
      this.arm(req.readTimeout)
    }
    this.reused = true
    req.signal?.onAbort(this.onAbort)
    this.write(req)
  }

  destroy(): void {
    this.socket.destroy()
  }

  /**
   * Sets the socket's inactivity timeout, skipped when it is already that long: every
   * read and write restarts the timer anyway, and re-arming it (twice per exchange, for the
   * read timeout and then the keep-alive idle timeout, often both 60 s) showed in profiles.
   */
  arm(ms: number): void {
    if (ms === this.timeoutMs) return
    this.timeoutMs = ms
    this.socket.setTimeout(ms)
  }

  /** Stops reading while the client is full; its slowness is not the upstream's timeout. */
  pause(): void {
    this.reader.pause()
    this.arm(0)
  }

  resume(): void {
    if (this.closed || !this.reader.paused) return
    this.reader.resume()
    this.arm(this.req?.readTimeout ?? 0)
  }

  /** Writes the request; a Readable body then streams (`sendBody`). */
  private write(req: ClientRequest): void {
    const left = writeRequest(this.socket, req)
    if (left !== 'sent') this.sendBody(req.body as Readable, left === 'stream-chunked')
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
      if (this.connected && this.req && !this.reader.paused) this.arm(this.req.readTimeout)
    }
    const onError = (err: Error) => {
      this.stopUpload()
      this.fail(err instanceof UpstreamFailure ? err : new UpstreamFailure('error', `reading the request body failed: ${err.message}`))
    }
    this.upload = {body, stop: () => body.off('data', onData).off('end', onEnd).off('error', onError)}
    // read_timeout starts once the request is sent (nginx's proxy_read_timeout): a client slow
    // to send is not the upstream's delay; an upstream that stops reading meets write_timeout
    if (this.connected) this.arm(0)
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
    this.onExecute(this.parser.execute(data))
  }

  /** What the parser made of a read: from `execute`, or one it took from the socket itself (`consumeReads`). */
  private readonly onExecute = (r: number | Error) => {
    const parsed = this.parsed
    if (parsed !== null) {
      this.parsed = null
      parsed.resolve(parsed.res)
    }
    const thrown = this.thrown
    if (thrown !== null) {
      // a throw while the response was handed on (a bug): this exchange fails, never the process
      this.thrown = null
      if (this.req) this.fail(new UpstreamFailure('error', `proxying the response failed: ${thrown.message}`))
      else this.socket.destroy()
      return
    }
    if (!(r instanceof Error)) return
    if (this.req) this.fail(new UpstreamFailure('error', `invalid response from the upstream: ${(r as {reason?: string}).reason ?? r.message}`))
    else this.socket.destroy() // not HTTP, after the response: the connection cannot be trusted
  }

  private readonly onBody = (chunk: Buffer) => {
    if (this.thrown !== null) return
    try {
      this.response?.push(chunk)
    } catch (err) {
      this.thrown = err instanceof Error ? err : new Error(String(err))
    }
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
    status: number, message: string | undefined, _upgrade: boolean, keepAlive: boolean,
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
    const res = (this.response = new UpstreamResponse(status, raw, this, message ?? ''))
    // answered while a streamed body still goes out: its body is read within read_timeout
    if (this.upload) this.arm(this.req!.readTimeout)
    const resolve = this.resolve!
    this.resolve = this.reject = this.retry = null
    this.req!.signal?.onAbort(null)
    if (this.reader.native) this.parsed = {resolve, res}
    else resolve(res)
    return this.req!.method === 'HEAD' || status === 204 || status === 304 ? 1 : 0
  }

  private readonly onComplete = () => {
    if (this.thrown !== null) return
    try {
      this.complete()
    } catch (err) {
      this.thrown = err instanceof Error ? err : new Error(String(err))
    }
  }

  private complete(): void {
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
    this.reader.resume() // paused for that body; the next exchange reads
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
    this.pool.forget(this.entry)
    if (this.req) {
      const err = this.error
      if (err && !this.connected) this.fail(classifyConnect(err))
      else if (!this.received && this.retry) this.fail(null) // reused, and closed by the upstream as it went out
      else this.fail(new UpstreamFailure('error', err ? `${err.code ?? 'error'}: ${err.message}` : 'the upstream closed the connection'))
    }
    const p = this.parser
    const reader = this.reader
    setImmediate(() => {
      reader.release()
      p.close()
    })
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

/** `Keep-Alive: timeout=5` → close 1 s before the upstream would (5 → 4 s); null without a timeout. */
function idleFromHint(value: string): number | null {
  const m = /timeout=(\d+)/i.exec(value)
  return m ? Math.max(0, Number(m[1]) * 1000 - 1000) : null
}
