/**
 * A response written by the proxy's own HTTP/1.1 server (connection.ts): what the proxy,
 * the PDK and the plugins use of Node's `ServerResponse`, producing the same bytes. The
 * head is built as Node's `_storeHeader` builds it (headers in the order given, then
 * `Date`, then `Connection`, then the framing: `Content-Length` when `end()` gives the
 * whole body before any head, else `Transfer-Encoding: chunked`), kept in `_header` for
 * the log phase, and goes out with the first body bytes. Names and values are checked as
 * Node checks them (`validateHeaderName`, `validateHeaderValue`), so a bad header a plugin
 * set fails the same way.
 *
 * Responses of pipelined requests are written in order: one that is not its connection's
 * first yet keeps what it writes until its turn (`attach`).
 */
import {EventEmitter} from 'node:events'
import {STATUS_CODES, validateHeaderName, validateHeaderValue, type OutgoingHttpHeaders} from 'node:http'
import type {Socket} from 'node:net'
import type {DownstreamRequest} from './request.js'

/** What a response needs of its connection. */
export interface ResponseOwner {
  readonly socket: Socket
  /** The response wrote its last bytes, or gives them here as a latin1 string (`finished` runs once they are flushed). */
  ended(res: DownstreamResponse, last?: string): void
  /** Destroys the connection (a response that cannot be completed). */
  destroy(err?: Error): void
  /** Sets the connection's timeout while this response is answered (0: none). */
  timeout(ms: number): void
}

/** Node's `Date` header value: the current second's `toUTCString()`, cached for that second. */
let utcCache: string | null = null
export function utcDate(): string {
  if (utcCache === null) {
    const d = new Date()
    utcCache = d.toUTCString()
    setTimeout(() => (utcCache = null), 1000 - d.getMilliseconds()).unref()
  }
  return utcCache
}

const RE_CONN_CLOSE = /(?:^|\W)close(?:$|\W)/i
/** Node's `checkInvalidHeaderChar`: what a header value, or a reason phrase, may not hold. */
export const INVALID_HEADER_CHAR = /[^\t\x20-\x7e\x80-\xff]/
const RE_TE_CHUNKED = /(?:^|\W)chunked(?:$|\W)/i
const CRLF = Buffer.from('\r\n')
/** Pipelined responses waiting for their turn: past this many bytes kept, `write` asks to wait. */
const HELD_HIGH_WATER = 16 * 1024

type HeaderValue = string | number | readonly string[]

export class DownstreamResponse extends EventEmitter {
  statusCode = 200
  statusMessage = ''
  shouldKeepAlive: boolean
  sendDate = true
  /** The response head as written (Node's `_header`), null before `writeHead`. */
  _header: string | null = null
  /** Set by the proxy to suppress `Keep-Alive: timeout=…` (never sent here). */
  _keepAliveTimeout = 0
  writableEnded = false
  writableFinished = false
  destroyed = false
  /** The connection closes after this response. */
  _last = false
  chunkedEncoding = false
  useChunkedEncodingByDefault = true
  private hasBody = true
  private headSent = false
  private contentLength: number | null = null
  private store: Record<string, [string, HeaderValue]> | null = null
  private expectContinue = false
  private sent100 = false
  private needDrain = false
  /** Bytes kept while an earlier response on the connection is still going out; null once attached. */
  private held: Array<string | Buffer> | null = []
  private heldBytes = 0
  private endedHeld = false
  private closeEmitted = false
  /** Destroyed while held: the connection goes when its turn comes (with this error, if any). */
  private destroyOnAttach: Error | true | null = null

  constructor(readonly req: DownstreamRequest, private readonly owner: ResponseOwner, keepAlive: boolean) {
    super()
    if (req.method === 'HEAD') this.hasBody = false
    // HTTP/1.0: chunked only to a client that says it takes it; keep-alive as the parser
    // says (only with `Connection: keep-alive`), which Node sets after this
    if (req.httpVersionMajor < 1 || req.httpVersionMinor < 1) this.useChunkedEncodingByDefault = RE_TE_CHUNKED.test(String(req.headers.te ?? ''))
    this.shouldKeepAlive = keepAlive
  }

  get socket(): Socket | null {
    return this.held === null && !this.destroyed ? this.owner.socket : null
  }

  get connection(): Socket | null {
    return this.socket
  }

  get headersSent(): boolean {
    return this._header !== null
  }

  get finished(): boolean {
    return this.writableEnded
  }

  get writableNeedDrain(): boolean {
    return this.needDrain
  }

  setHeader(name: string, value: HeaderValue): this {
    if (this._header !== null) throw headersSentError('set')
    validateHeaderName(name)
    validateHeaderValue(name, value as string)
    ;(this.store ??= Object.create(null) as Record<string, [string, HeaderValue]>)[name.toLowerCase()] = [name, value]
    return this
  }

  getHeader(name: string): HeaderValue | undefined {
    return this.store?.[name.toLowerCase()]?.[1]
  }

  hasHeader(name: string): boolean {
    return this.store?.[name.toLowerCase()] !== undefined
  }

  removeHeader(name: string): void {
    if (this._header !== null) throw headersSentError('remove')
    if (this.store) delete this.store[name.toLowerCase()]
  }

  getHeaders(): Record<string, HeaderValue> {
    const out: Record<string, HeaderValue> = Object.create(null)
    if (this.store) for (const k in this.store) out[k] = this.store[k][1]
    return out
  }

  getHeaderNames(): string[] {
    return this.store ? Object.keys(this.store) : []
  }

  /** Node's `writeContinue`: the interim answer to `Expect: 100-continue`. */
  writeContinue(): void {
    this.sent100 = true
    this.raw('HTTP/1.1 100 Continue\r\n\r\n')
  }

  /** @internal the request said `Expect: 100-continue` */
  expectsContinue(): void {
    this.expectContinue = true
  }

  writeHead(statusCode: number, reason?: string | OutgoingHttpHeaders | readonly unknown[], obj?: OutgoingHttpHeaders | readonly unknown[]): this {
    if (this._header !== null) throw headersSentError('write')
    const code = statusCode | 0
    if (code < 100 || code > 999) throw Object.assign(new RangeError(`Invalid status code: ${statusCode}`), {code: 'ERR_HTTP_INVALID_STATUS_CODE'})
    let headers: OutgoingHttpHeaders | readonly unknown[] | undefined
    if (typeof reason === 'string') {
      this.statusMessage = reason
      headers = obj
    } else {
      if (!this.statusMessage) this.statusMessage = STATUS_CODES[code] ?? 'unknown'
      headers = obj ?? reason
    }
    this.statusCode = code
    if (this.store !== null && headers) {
      if (Array.isArray(headers)) {
        for (let n = 0; n < headers.length; n += 2) if (headers[n]) this.setHeader(headers[n] as string, headers[n + 1] as HeaderValue)
      } else {
        for (const k of Object.keys(headers)) if (k) this.setHeader(k, (headers as OutgoingHttpHeaders)[k] as HeaderValue)
      }
    }
    // as Node's, after taking the reason and the headers: a CR, an LF, a NUL… would break the head
    if (INVALID_HEADER_CHAR.test(this.statusMessage)) throw Object.assign(new TypeError('Invalid character in statusMessage'), {code: 'ERR_INVALID_CHAR'})
    if (code === 204 || code === 304 || (code >= 100 && code <= 199)) this.hasBody = false
    // as Node: a final answer to a client waiting for 100 Continue ends the connection
    if (this.expectContinue && !this.sent100) this.shouldKeepAlive = false
    this.storeHeader(`HTTP/1.1 ${code} ${this.statusMessage}\r\n`, this.store !== null ? null : headers)
    return this
  }

  /** Node's `_storeHeader`: the head's text, and the framing the body will use. */
  private storeHeader(firstLine: string, given: OutgoingHttpHeaders | readonly unknown[] | null | undefined): void {
    const state = {connection: false, contLen: false, te: false, date: false, trailer: false, header: firstLine}
    if (given === null) {
      if (this.store) for (const k in this.store) this.processHeader(state, this.store[k][0], this.store[k][1], false)
    } else if (given) {
      if (Array.isArray(given)) {
        if (given.length % 2 !== 0) throw Object.assign(new TypeError(`The argument 'headers' is invalid.`), {code: 'ERR_INVALID_ARG_VALUE'})
        for (let n = 0; n < given.length; n += 2) this.processHeader(state, given[n] as string, given[n + 1] as HeaderValue, true)
      } else {
        for (const k in given) if (Object.hasOwn(given, k)) this.processHeader(state, k, (given as OutgoingHttpHeaders)[k] as HeaderValue, true)
      }
    }
    let header = state.header
    if (this.sendDate && !state.date) header += `Date: ${utcDate()}\r\n`
    if (this.chunkedEncoding && (this.statusCode === 204 || this.statusCode === 304)) {
      this.chunkedEncoding = false
      this.shouldKeepAlive = false
    }
    if (!state.connection) {
      if (this.shouldKeepAlive && (state.contLen || this.useChunkedEncodingByDefault)) header += 'Connection: keep-alive\r\n'
      else {
        this._last = true
        header += 'Connection: close\r\n'
      }
    }
    if (!state.contLen && !state.te) {
      if (!this.hasBody) this.chunkedEncoding = false
      else if (!this.useChunkedEncodingByDefault) this._last = true
      else if (!state.trailer && this.contentLength !== null) header += `Content-Length: ${this.contentLength}\r\n`
      else {
        header += 'Transfer-Encoding: chunked\r\n'
        this.chunkedEncoding = true
      }
    }
    if (this.chunkedEncoding !== true && state.trailer) throw Object.assign(new Error('Trailers are invalid with this transfer encoding'), {code: 'ERR_HTTP_TRAILER_INVALID'})
    this._header = `${header}\r\n`
  }

  private processHeader(state: {connection: boolean; contLen: boolean; te: boolean; date: boolean; trailer: boolean; header: string}, key: string, value: HeaderValue, validate: boolean): void {
    if (validate) validateHeaderName(key)
    if (Array.isArray(value)) {
      if (value.length < 2 || key.length !== 6 || key.toLowerCase() !== 'cookie') {
        for (let i = 0; i < value.length; i++) this.storeOne(state, key, value[i], validate)
        return
      }
      value = value.join('; ')
    }
    this.storeOne(state, key, value as string | number, validate)
  }

  private storeOne(state: {connection: boolean; contLen: boolean; te: boolean; date: boolean; trailer: boolean; header: string}, key: string, value: string | number, validate: boolean): void {
    if (validate) validateHeaderValue(key, value as string)
    state.header += `${key}: ${value}\r\n`
    // Node's matchHeader: the names that change the framing or the connection
    const len = key.length
    if (len !== 4 && len !== 7 && len !== 10 && len !== 14 && len !== 17) return
    switch (key.toLowerCase()) {
      case 'connection':
        state.connection = true
        if (RE_CONN_CLOSE.test(String(value))) this._last = true
        else this.shouldKeepAlive = true
        break
      case 'transfer-encoding':
        state.te = true
        if (RE_TE_CHUNKED.test(String(value))) this.chunkedEncoding = true
        break
      case 'content-length':
        state.contLen = true
        this.contentLength = +value
        break
      case 'date':
        state.date = true
        break
      case 'trailer':
        state.trailer = true
        break
    }
  }

  write(chunk: string | Uint8Array, encoding?: BufferEncoding | (() => void), cb?: () => void): boolean {
    if (typeof encoding === 'function') {
      cb = encoding
      encoding = undefined
    }
    if (this.writableEnded) {
      const err = Object.assign(new Error('write after end'), {code: 'ERR_STREAM_WRITE_AFTER_END'})
      process.nextTick(() => {
        cb?.()
        this.emit('error', err)
      })
      return false
    }
    if (this._header === null) this.writeHead(this.statusCode)
    return this.writeBody(chunk, encoding as BufferEncoding | undefined, false)
  }

  end(chunk?: string | Uint8Array | (() => void), encoding?: BufferEncoding | (() => void), cb?: () => void): this {
    if (typeof chunk === 'function') {
      cb = chunk
      chunk = undefined
    } else if (typeof encoding === 'function') {
      cb = encoding
      encoding = undefined
    }
    if (this.writableEnded) {
      if (cb) process.nextTick(cb)
      return this
    }
    if (cb) this.once('finish', cb)
    if (this._header === null) {
      // the whole body is known before the head: it goes with a length (as Node's)
      this.contentLength = chunk ? (typeof chunk === 'string' ? Buffer.byteLength(chunk, encoding as BufferEncoding | undefined) : chunk.byteLength) : 0
      this.writeHead(this.statusCode)
    }
    if (this.held === null && !this.headSent && !this.destroyed && !this.chunkedEncoding && (chunk == null || (typeof chunk !== 'string' && chunk.byteLength <= ONE_WRITE_MAX))) {
      // a small whole response (most proxied ones): its head and body go as one string in
      // one write, whose callback is the flush (no cork, no writev, no empty write after)
      this.headSent = true
      this.writableEnded = true
      this.owner.ended(this, chunk != null && this.hasBody ? this._header + latin1(chunk) : this._header!)
      return this
    }
    const s = this.held === null ? this.owner.socket : null
    s?.cork()
    if (chunk) this.writeBody(chunk, encoding as BufferEncoding | undefined, true)
    this.writableEnded = true
    if (this.chunkedEncoding && this.hasBody) this.raw('0\r\n\r\n')
    else if (!this.headSent) this.raw('')
    // within the cork: the write that signals the flush goes in the same batch
    if (this.held === null) this.owner.ended(this)
    else this.endedHeld = true
    s?.uncork()
    return this
  }

  private writeBody(chunk: string | Uint8Array, encoding: BufferEncoding | undefined, last: boolean): boolean {
    if (!this.hasBody) return true
    const data = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk
    if (this.chunkedEncoding) {
      if (data.byteLength === 0) return true
      const s = this.held === null && !last ? this.owner.socket : null
      s?.cork()
      this.raw(`${data.byteLength.toString(16)}\r\n`)
      this.raw(data as Buffer)
      const ok = this.raw(CRLF)
      s?.uncork()
      return ok
    }
    return this.raw(data as Buffer)
  }

  /** Writes bytes, the head first when it has not gone yet; held while an earlier response is going out. */
  private raw(data: string | Buffer): boolean {
    if (this.destroyed) return false
    let out: string | Buffer = data
    if (!this.headSent && this._header !== null) {
      this.headSent = true
      if (typeof data === 'string') out = this._header + data
      else if (this.held === null) this.owner.socket.write(this._header, 'latin1')
      else this.held.push(this._header)
    }
    if (this.held !== null) {
      if (out.length > 0) {
        this.held.push(out)
        this.heldBytes += out.length
      }
      if (this.heldBytes < HELD_HIGH_WATER) return true
      this.needDrain = true
      return false
    }
    if (out.length === 0) return true
    const ok = typeof out === 'string' ? this.owner.socket.write(out, 'latin1') : this.owner.socket.write(out)
    if (!ok) this.needDrain = true
    return ok
  }

  /** @internal its turn on the connection: what it kept goes out */
  attach(): void {
    const held = this.held
    this.held = null
    if (this.destroyOnAttach !== null) return this.owner.destroy(this.destroyOnAttach === true ? undefined : this.destroyOnAttach)
    // as Node's `assignSocket`: the response has its socket now (`socket` is null while it waits)
    this.emit('socket', this.owner.socket)
    if (held !== null && held.length > 0) {
      const s = this.owner.socket
      s.cork()
      for (const d of held) if (typeof d === 'string') s.write(d, 'latin1')
      else s.write(d)
      s.uncork()
    }
    if (this.endedHeld) this.owner.ended(this)
    else if (this.needDrain && this.owner.socket.writableNeedDrain === false) this.drained()
  }

  /** @internal the socket drained */
  drained(): void {
    if (this.needDrain && !this.writableEnded) {
      this.needDrain = false
      this.emit('drain')
    }
  }

  /** @internal its bytes are flushed: Node's `finish`, then `close` on the next tick */
  finished_(): void {
    this.writableFinished = true
    this.emit('finish')
    process.nextTick(emitClose, this)
  }

  /** @internal the connection closed before the response was complete */
  closed(): void {
    this.destroyed = true
    if (this.closeEmitted) return
    this.closeEmitted = true
    this.emit('close')
  }

  /**
   * Destroys the connection, as Node's does through the response's socket: not once the
   * response is finished (the connection may be serving the next request by then), and
   * for a pipelined response not yet on the wire, when its turn comes.
   */
  destroy(err?: Error): this {
    if (this.destroyed || this.writableFinished) return this
    this.destroyed = true
    if (this.held !== null) this.destroyOnAttach = err ?? true
    else this.owner.destroy(err)
    return this
  }

  flushHeaders(): void {
    if (this._header === null) this.writeHead(this.statusCode)
    if (!this.headSent) this.raw('')
  }

  setTimeout(ms: number, cb?: () => void): this {
    // as Node's: the response hears its timeout (the connection emits it), and one handled there leaves the socket open
    if (cb) this.on('timeout', cb)
    this.owner.timeout(ms)
    return this
  }
}

function emitClose(res: DownstreamResponse): void {
  res.closed()
}

function headersSentError(what: string): Error {
  return Object.assign(new Error(`Cannot ${what} headers after they are sent to the client`), {code: 'ERR_HTTP_HEADERS_SENT'})
}

/** Largest body `end()` sends in one string with its head; a larger one goes as bytes after it. */
const ONE_WRITE_MAX = 16 * 1024

/** Bytes as a latin1 string, one char per byte: written back with 'latin1', the same bytes. */
function latin1(bytes: Uint8Array): string {
  return (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).toString('latin1')
}
