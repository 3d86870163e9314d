/**
 * The proxy's HTTP/1.1 server side: one client connection, read with Node's own llhttp
 * binding (the parser its http module runs, see upstream/parser.ts) into the light request
 * and response objects of request.ts and response.ts. It does what Node's `http.Server`
 * does for the proxy, in the same ways:
 *
 *   socket ─► parser ─► head: request + response ─► 'request' (the proxy's handler)
 *                   └─► body bytes ─► request (a Readable; a full one pauses the socket)
 *   responses ─► socket, in the order of their requests (pipelining)
 *
 * - keep-alive as the parser says (HTTP/1.0 only with `Connection: keep-alive`); after a
 *   response with `Connection: close` the socket ends once flushed;
 * - `Expect: 100-continue` answered with `100 Continue` before the handler runs, other
 *   expectations with 417; CONNECT and PRI end the connection; an `Upgrade` request is
 *   served as a plain request (nothing upgrades);
 * - a parse error (HPE_*, with `rawPacket` the bytes of that read) goes to the server's
 *   `clientError` listeners, as Node's;
 * - the idle timeout between requests (`keepAliveTimeout` + 1 s, as Node's), a head that
 *   takes longer than `headersTimeout` and a request longer than `requestTimeout` (checked
 *   every `CHECK_INTERVAL_MS`, as Node's) fail with ERR_HTTP_REQUEST_TIMEOUT.
 */
import type {Socket} from 'node:net'
import {consumeReads, HTTPParser, K_BEGIN, K_BODY, K_COMPLETE, K_HEADERS, K_HEADERS_COMPLETE, PARSER_METHODS, type Parser, type Reads} from '../upstream/parser.js'
import {DownstreamRequest, MAX_HEADER_ENTRIES, type RequestOwner} from './request.js'
import {DownstreamResponse, type ResponseOwner} from './response.js'
import {holdLatin1, releaseLatin1} from '../socket-write.js'
import type {LiveEntry} from '../live-set.js'

/** What of net.Socket's internals a connection uses, each with a public fallback. */
type SocketInternals = Socket & {_unrefTimer?: () => void; timeout?: number; destroySoon?: () => void}

const METHODS: readonly string[] = PARSER_METHODS ?? []
const REQUEST: number = (HTTPParser as unknown as {REQUEST?: number}).REQUEST ?? 0
const CONTINUE = /(?:^|\W)100-continue(?:$|\W)/i
/** Node's `HTTP_SERVER_KEEP_ALIVE_TIMEOUT_BUFFER`: the idle socket lives a little past the advertised timeout. */
const KEEP_ALIVE_BUFFER_MS = 1000
/** Pipelined requests waiting for their response past which reading stops until one is answered. */
const MAX_QUEUED = 64

/** What a connection needs of its server. */
export interface ConnectionServer {
  readonly keepAliveTimeout: number
  readonly headersTimeout: number
  readonly requestTimeout: number
  request(req: DownstreamRequest, res: DownstreamResponse): void
  clientError(err: Error & {code?: string; rawPacket?: Buffer}, socket: Socket): void
  /** A new connection: among the server's open ones until it is forgotten. */
  track(conn: DownstreamConnection): LiveEntry<DownstreamConnection>
  forget(entry: LiveEntry<DownstreamConnection>): void
}

export class DownstreamConnection implements RequestOwner, ResponseOwner {
  private readonly parser: Parser
  private readonly reader: Reads
  /** What a parser callback threw during the read being parsed; the connection then fails. */
  private thrown: Error | null = null
  /** Responses in request order; the first one writes to the socket. */
  private readonly queue: DownstreamResponse[] = []
  /** The request whose head or body is being parsed. */
  private current: DownstreamRequest | null = null
  private headerParts: string[] | null = null
  private urlPart = ''
  private closed = false
  private executing = false
  private bodyPaused = false
  private queuePaused = false
  private idle = false
  private failed = false
  /** Whether the socket's timeout is one the request or response asked for (`timeout`), not the idle one. */
  private askedTimeout = false
  /** `Date.now()` when the head being read began (a new connection's counts from its start); 0 when none is. */
  private headStartedAt = Date.now()
  /** `Date.now()` when the request being read began; 0 when it is whole. */
  private requestStartedAt = this.headStartedAt
  private readonly finishedHead = this.onWritten.bind(this)
  /** Its place among the server's open connections. */
  private readonly entry: LiveEntry<DownstreamConnection>

  constructor(readonly socket: Socket, private readonly server: ConnectionServer) {
    socket.setNoDelay(true)
    const p = (this.parser = new HTTPParser())
    p.initialize(REQUEST, {}, 0, HTTPParser.kLenientNone)
    p[K_BEGIN] = this.onBegin.bind(this)
    p[K_HEADERS] = this.onHeaders.bind(this)
    p[K_HEADERS_COMPLETE] = this.onHead.bind(this)
    p[K_BODY] = this.onBody.bind(this)
    p[K_COMPLETE] = this.onComplete.bind(this)
    // Node's http.Server reads the socket straight into the parser (no 'data' events), as here when it can
    this.reader = consumeReads(p, socket, this.onExecute.bind(this))
    socket.on('data', this.onData.bind(this))
    socket.on('end', this.onEnd.bind(this))
    socket.on('error', this.onError.bind(this))
    socket.on('close', this.onClose.bind(this))
    socket.on('drain', this.onDrain.bind(this))
    socket.on('timeout', this.onTimeout.bind(this))
    // once its close listener is there to forget it
    this.entry = server.track(this)
  }

  /** Destroys the socket; what is held for the end of this turn (an answer before this) goes first, as it would have before the socket went. */
  destroy(err?: Error): void {
    releaseLatin1(this.socket)
    this.socket.destroy(err)
  }

  private onData(chunk: Buffer): void {
    if (this.failed) return
    this.executing = true
    let r: number | Error
    try {
      r = this.parser.execute(chunk)
    } catch (err) {
      r = internal(err)
    } finally {
      this.executing = false
    }
    if (this.closed) return this.closeParser()
    this.afterRead(r, chunk)
  }

  /** A read the parser took from the socket itself (`consumeReads`). */
  private onExecute(r: number | Error): void {
    if (this.failed) return
    this.afterRead(r, null)
  }

  private afterRead(r: number | Error, chunk: Buffer | null): void {
    if (this.thrown !== null) {
      // a throw from a callback (a bug on some input): this connection fails, never the process
      r = this.thrown
      this.thrown = null
    }
    if (r instanceof Error) this.parseError(r, chunk ?? this.parser.getCurrentBuffer?.() ?? Buffer.alloc(0))
  }

  private closeParser(): void {
    this.reader.release()
    this.parser.close()
  }

  private parseError(err: Error & {code?: string; rawPacket?: Buffer; bytesParsed?: number}, chunk: Buffer): void {
    err.rawPacket = chunk
    this.fail(err)
  }

  /** A parse error or a timeout: the server's `clientError` listeners answer (or not) and the connection goes. */
  private fail(err: Error & {code?: string; rawPacket?: Buffer}): void {
    if (this.failed) return
    this.failed = true
    // the answer to it (or the end) goes after what is held for the end of this turn
    releaseLatin1(this.socket)
    this.server.clientError(err, this.socket)
  }

  /** A socket error (a reset, a write to a closed peer) goes to `clientError` too, once, as Node's. */
  private onError(err: Error): void {
    this.fail(err)
  }

  private onEnd(): void {
    releaseLatin1(this.socket)
    if (this.failed) return void this.socket.end()
    const r = this.parser.finish()
    if (r instanceof Error) return this.fail(r as Error & {code?: string})
    // as Node's (no half-open HTTP connections): the writing side ends after what is queued
    this.socket.end()
  }

  private onClose(): void {
    this.closed = true
    this.server.forget(this.entry)
    if (!this.executing) this.closeParser()
    const req = this.current
    this.current = null
    if (req !== null && !req.complete && !req.destroyed) req.destroy(Object.assign(new Error('aborted'), {code: 'ECONNRESET'}))
    const queue = this.queue.splice(0)
    for (const res of queue) {
      const r = res.req
      if (!r.complete && !r.destroyed) r.destroy(Object.assign(new Error('aborted'), {code: 'ECONNRESET'}))
      res.closed()
    }
  }

  private onDrain(): void {
    this.queue[0]?.drained()
  }

  private onTimeout(): void {
    // the idle timer, run out while a request is read or answered: not this request's timeout
    if (!this.idle && !this.askedTimeout) return
    // Node's: a timeout nobody handles destroys the socket; the request (while not whole) and the response both hear it
    const req = this.current
    const reqHandled = req !== null && !req.complete && req.emit('timeout', this.socket)
    const resHandled = this.queue.length > 0 && this.queue[0].emit('timeout', this.socket)
    if (!reqHandled && !resHandled) this.destroy()
  }

  /** Checks the head and request timeouts (run every few seconds by the server). */
  checkTimeouts(now: number): void {
    const {headersTimeout, requestTimeout} = this.server
    if ((headersTimeout > 0 && this.headStartedAt > 0 && now - this.headStartedAt > headersTimeout) || (requestTimeout > 0 && this.requestStartedAt > 0 && now - this.requestStartedAt > requestTimeout)) {
      this.headStartedAt = this.requestStartedAt = 0
      this.fail(Object.assign(new Error('Request timeout'), {code: 'ERR_HTTP_REQUEST_TIMEOUT'}))
    }
  }

  /**
   * Between requests the socket times out after the keep-alive timeout; while one is read
   * or answered, only after a timeout its request or response asked for (`timeout`). The
   * timer is not cleared for each request and set again after it (a new timer each time,
   * which showed in profiles): it stays, and one that runs out mid-request is ignored.
   */
  private setIdle(idle: boolean): void {
    if (idle === this.idle) return
    this.idle = idle
    if (!idle) return
    this.askedTimeout = false
    const ms = this.server.keepAliveTimeout > 0 ? this.server.keepAliveTimeout + KEEP_ALIVE_BUFFER_MS : 0
    // the idle time counts from now, also when a long answer let the timer run out meanwhile;
    // the socket's `timeout` is what it was last set to, by whoever set it
    const socket = this.socket as SocketInternals
    if (ms > 0 && socket.timeout === ms && typeof socket._unrefTimer === 'function') socket._unrefTimer()
    else socket.setTimeout(ms)
  }

  /** The request or the response sets the socket's timeout (their `setTimeout`); it holds until the connection is idle again. */
  timeout(ms: number): void {
    this.askedTimeout = ms > 0
    this.socket.setTimeout(ms)
  }

  private onBegin(): void {
    this.headStartedAt = this.requestStartedAt = Date.now()
    this.headerParts = null
    this.urlPart = ''
  }

  private onHeaders(headers: string[], url: string): void {
    // as Node's: past its header limit, further headers are not collected
    if (headers.length > 0 && (this.headerParts === null || this.headerParts.length < MAX_HEADER_ENTRIES)) (this.headerParts ??= []).push(...headers)
    if (url) this.urlPart += url
  }

  private onHead(major: number, minor: number, headers: string[] | undefined, method: number, url: string | undefined, _s: unknown, _m: unknown, _upgrade: boolean, keepAlive: boolean): number {
    if (this.thrown !== null) return 2
    try {
      return this.head(major, minor, headers, method, url, keepAlive)
    } catch (err) {
      this.thrown = internal(err)
      return 2
    }
  }

  private head(major: number, minor: number, headers: string[] | undefined, method: number, url: string | undefined, keepAlive: boolean): number {
    this.headStartedAt = 0
    const raw = this.headerParts === null ? (headers ?? []) : headers ? [...this.headerParts, ...headers] : this.headerParts
    this.headerParts = null
    const req = new DownstreamRequest(this.socket, this, METHODS[method] ?? '', url ?? this.urlPart, major, minor, raw)
    this.current = req
    // nothing here tunnels or speaks HTTP/2: the connection ends (Node's, without `connect` listeners)
    if (req.method === 'CONNECT' || req.method === 'PRI') {
      this.destroy()
      return 2
    }
    this.setIdle(false)
    const res = new DownstreamResponse(req, this, keepAlive)
    this.queue.push(res)
    if (this.queue.length === 1) res.attach()
    else if (this.queue.length > MAX_QUEUED && !this.queuePaused) {
      // a flood of pipelined requests: no more reading until they are answered
      this.queuePaused = true
      this.reader.pause()
    }
    if (major === 1 && minor === 1) {
      const expect = req.headers.expect
      if (expect !== undefined) {
        if (CONTINUE.test(String(expect))) {
          res.expectsContinue()
          res.writeContinue()
        } else {
          res.writeHead(417)
          res.end()
          return 0
        }
      }
    }
    this.server.request(req, res)
    return 0
  }

  private onBody(chunk: Buffer): void {
    const req = this.current
    if (req === null || req.dumped || this.thrown !== null) return
    try {
      if (!req.push(chunk) && !this.bodyPaused) {
        this.bodyPaused = true
        this.reader.pause()
      }
    } catch (err) {
      this.thrown = internal(err)
    }
  }

  private onComplete(): void {
    const req = this.current
    this.requestStartedAt = 0
    if (req === null || this.thrown !== null) return
    this.current = null
    req.complete = true
    try {
      if (!req.dumped) req.push(null)
      if (this.bodyPaused) this.resumeBody()
    } catch (err) {
      this.thrown = internal(err)
    }
    // answered before its body was all read (a 401 to an upload): idle once the body is in
    if (this.queue.length === 0) this.setIdle(true)
  }

  /** The request's reader wants more: read the socket again. */
  resumeBody(): void {
    if (!this.bodyPaused) return
    this.bodyPaused = false
    if (!this.queuePaused && !this.closed) this.reader.resume()
  }

  /** A request destroyed before it was whole takes its connection with it (Node's). */
  destroyFrom(err: Error | null): void {
    if (!this.closed) this.destroy(err ?? undefined)
  }

  /** A response wrote its last bytes (or gives them here, `last`): it finishes once they are flushed. */
  ended(res: DownstreamResponse, last = ''): void {
    if (res !== this.queue[0]) return
    // a write after what the response wrote: its callback is Node's `finish`; nothing else
    // is written to the socket before it calls back, so it can wait for the turn's end
    holdLatin1(this.socket, last, this.finishedHead)
  }

  /** The first response's bytes are out: finish it, then the next one's turn (or the end). */
  private onWritten(err?: Error | null): void {
    // the socket failed (and closes): the response closes with it, unfinished
    if (err) return
    const res = this.queue.shift()
    if (res === undefined) return
    const req = res.req
    // a body nobody read is discarded, so the next request can be parsed (Node's `_dump`)
    if (!req.complete && !req.consumed) this.dump(req)
    res.finished_()
    if (this.closed) return
    if (res._last) {
      // Node's: the socket goes once flushed, whether or not the client closes its side
      const socket = this.socket as SocketInternals
      if (typeof socket.destroySoon === 'function') socket.destroySoon()
      else socket.end()
      return
    }
    if (this.queuePaused && this.queue.length <= MAX_QUEUED) {
      this.queuePaused = false
      if (!this.bodyPaused) this.reader.resume()
    }
    const next = this.queue[0]
    if (next !== undefined) next.attach()
    else if (this.current === null) this.setIdle(true)
  }

  private dump(req: DownstreamRequest): void {
    req.dumped = true
    req.removeAllListeners('data')
    req.resume()
    this.resumeBody()
  }

  /** Whether the connection's socket is ours to destroy now: no request read or answered. */
  closeIfIdle(): void {
    if (this.idle && this.headStartedAt === 0 && this.queue.length === 0 && this.current === null) this.destroy()
  }
}

/** A throw from a parser callback, as the parse error the connection fails with. */
function internal(err: unknown): Error & {code: string} {
  return Object.assign(err instanceof Error ? err : new Error(String(err)), {code: 'HPE_INTERNAL'})
}
