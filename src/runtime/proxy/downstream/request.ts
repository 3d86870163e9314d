/**
 * A request read by the proxy's own HTTP/1.1 server (connection.ts): what the phases, the
 * PDK and the plugins read of Node's `IncomingMessage`, at a fraction of its cost per
 * request. `headers` and `headersDistinct` are built on first read with Node's own rules
 * (`IncomingMessage.prototype._addHeaderLine`: duplicates joined with `, `, Cookie with
 * `; `, Set-Cookie a list, single-valued fields keep their first value). The body is a
 * Readable: the connection pushes what the parser gives, and a full buffer pauses the
 * socket until the reader pulls again.
 */
import {IncomingMessage} from 'node:http'
import type {Socket} from 'node:net'
import {Readable} from 'node:stream'

type AddHeaderLine = (this: unknown, field: string, value: string, dest: Record<string, string | string[]>) => void
/** Node's duplicate-header rules; checked by `fastServerProblem` before the server is used. */
export const addHeaderLine = (IncomingMessage.prototype as unknown as {_addHeaderLine?: AddHeaderLine})._addHeaderLine

/** What the request asks of its connection: more body bytes (the reader pulled), or to go. */
export interface RequestOwner {
  resumeBody(): void
  destroyFrom(err: Error | null): void
  /** Sets the connection's timeout while this request is read or answered (0: none). */
  timeout(ms: number): void
}

const NOT_JOINED = {joinDuplicateHeaders: undefined}
/** Node's `MAX_HEADER_PAIRS` (compared, as Node does, with the raw list's length): `headers` reads no further. */
export const MAX_HEADER_ENTRIES = 2000

export class DownstreamRequest extends Readable {
  complete = false
  aborted = false
  readonly upgrade = false
  readonly httpVersion: string
  /** Nobody reads the body (its response is done): the connection discards it. */
  dumped = false
  /** Something read the body (or asked to). */
  consumed = false
  private byName: Record<string, string | string[]> | null = null
  private distinct: Record<string, string[]> | null = null
  trailers: Record<string, string> = {}
  rawTrailers: string[] = []

  constructor(
    readonly socket: Socket,
    private readonly owner: RequestOwner,
    readonly method: string,
    public url: string,
    readonly httpVersionMajor: number,
    readonly httpVersionMinor: number,
    readonly rawHeaders: string[],
  ) {
    super()
    this.httpVersion = `${httpVersionMajor}.${httpVersionMinor}`
  }

  get connection(): Socket {
    return this.socket
  }

  get headers(): Record<string, string | string[]> {
    if (this.byName !== null) return this.byName
    const out: Record<string, string | string[]> = {}
    const raw = this.rawHeaders
    const n = Math.min(raw.length, MAX_HEADER_ENTRIES)
    for (let i = 0; i < n; i += 2) addHeaderLine!.call(NOT_JOINED, raw[i], raw[i + 1], out)
    return (this.byName = out)
  }

  set headers(value: Record<string, string | string[]>) {
    this.byName = value
  }

  get headersDistinct(): Record<string, string[]> {
    if (this.distinct !== null) return this.distinct
    const out: Record<string, string[]> = Object.create(null)
    const raw = this.rawHeaders
    const n = Math.min(raw.length, MAX_HEADER_ENTRIES)
    for (let i = 0; i < n; i += 2) {
      const k = raw[i].toLowerCase()
      const list = out[k]
      if (list === undefined) out[k] = [raw[i + 1]]
      else list.push(raw[i + 1])
    }
    return (this.distinct = out)
  }

  /**
   * `headersDistinct[name]` (`name` in lower case) without building the whole object, for a
   * plugin that reads one header: every value of its lines, in order, or undefined.
   */
  headerValues(name: string): string[] | undefined {
    if (this.distinct !== null) return this.distinct[name]
    let out: string[] | undefined
    const raw = this.rawHeaders
    const n = Math.min(raw.length, MAX_HEADER_ENTRIES)
    for (let i = 0; i < n; i += 2) {
      const k = raw[i]
      if (k.length === name.length && k.toLowerCase() === name) (out ??= []).push(raw[i + 1])
    }
    return out
  }

  override read(size?: number): unknown {
    this.consumed = true
    return super.read(size)
  }

  override _read(): void {
    this.owner.resumeBody()
  }

  /** Node's semantics: a request destroyed before it was whole is aborted, and takes its connection. */
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.readableEnded || !this.complete) {
      this.aborted = true
      this.emit('aborted')
      this.owner.destroyFrom(err)
    }
    // as Node's: the error reaches only a request that listens for one
    process.nextTick(() => cb(this.listenerCount('error') > 0 ? err : null))
  }

  setTimeout(ms: number, cb?: () => void): this {
    // as Node's: the request hears its timeout while it is not whole (the connection emits it)
    if (cb) this.on('timeout', cb)
    this.owner.timeout(ms)
    return this
  }
}
