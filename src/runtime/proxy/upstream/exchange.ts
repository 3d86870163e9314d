/**
 * One exchange on the wire, both directions: the request head written as one string (with
 * its framing, and a buffered body in the same write), and the response as the client side
 * reads it (`UpstreamResponse`: body bytes queued until a reader comes, then handed on with
 * the reader's backpressure, no stream in between). The connection (connection.ts) drives
 * both: it feeds the parser's body bytes in, and streams a request body that is a Readable.
 */
import type net from 'node:net'
import type {ClientRequest} from './types.js'
import {holdLatin1, releaseLatin1, writeLatin1} from '../socket-write.js'

/** Body bytes held for a response nobody reads yet before the socket is paused. */
const QUEUE_BYTES = 64 * 1024

/**
 * What is left to send after `writeRequest`: nothing (no body, or a buffer written with the
 * head), or a Readable body to stream as it is or in chunked encoding.
 */
export type BodyLeft = 'sent' | 'stream' | 'stream-chunked'

/**
 * Writes the request head: the request line, the headers as given, and the framing a body
 * needs (its length when known, else chunked). A buffered body goes in the same write.
 */
export function writeRequest(s: net.Socket, req: ClientRequest): BodyLeft {
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
  if (body === null) {
    // nothing follows it before the response: it can wait for the end of this turn
    holdLatin1(s, head)
  } else if (Buffer.isBuffer(body)) {
    releaseLatin1(s)
    s.cork()
    s.write(head, 'latin1')
    s.write(body)
    s.uncork()
  } else {
    writeLatin1(s, head)
    return framing === 'chunked' ? 'stream-chunked' : 'stream'
  }
  return 'sent'
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

  /** `statusMessage`: the reason phrase of the upstream's status line, as received ('' when none). */
  constructor(readonly statusCode: number, readonly rawHeaders: string[], private conn: BodySource | null, readonly statusMessage = '') {}

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
      if (this.state === 'ended' && this.reader === null) {
        // the whole body came with the head (most small responses): one end() writes it
        // with the response head, without a write() and its cork before
        const queue = this.queue
        this.queue = null
        this.queued = 0
        if (queue !== null && queue.length === 1) res.end(queue[0])
        else {
          if (queue !== null) for (const chunk of queue) res.write(chunk)
          res.end()
        }
        this.closed()
        return
      }
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
