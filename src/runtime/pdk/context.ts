/**
 * What a plugin sees of a request (Kong's `kong.request`, `kong.service.request`,
 * `kong.response`, `kong.client`, `kong.ctx.shared`): a small surface over the proxy's
 * request view (request.ts), so plugins never touch Node's request/response objects nor
 * the proxy. One per request, made on the first plugin that runs; `state` is the running
 * plugin's own per-proxy state (types.ts `PluginStateSlot`).
 */
import type {IncomingHttpHeaders} from 'node:http'
import type {Logger} from '../kit/log.js'
import type {TLSSocket} from 'node:tls'
import {sentHead, splitUrl, type RequestView, type UpstreamTry} from './request.js'
import {readBody} from './request-body.js'
import type {PluginStates} from './state.js'
import type {Consumer, Credential, PluginExit, PluginInstance, PluginStateSlot, Route, Service} from './types.js'

export class PluginContext<S = unknown> {
  /** Set by `exit`/`error`; the runner answers with it and skips the rest. */
  exited: PluginExit | null = null
  /** During the response phase: the status and headers about to be sent. */
  response: {status: number; headers: Record<string, string | string[]>} | null = null
  /** The instance whose phase runs now. */
  instance: PluginInstance | null = null
  /** The plugin whose phase runs now (its handler; set by the runner with `instance`). */
  plugin: {readonly name: string; readonly state?: PluginStateSlot<unknown>} | null = null
  private queryCache: URLSearchParams | null = null
  /** What `setSerializeValue` was given, in order (applied by the serializer). */
  serializeValues: Array<{key: string; value: unknown}> | null = null

  constructor(
    private readonly ctx: RequestView,
    private readonly states: PluginStates,
  ) {}

  /**
   * The running plugin's state in this proxy, made on first use from its `state` slot.
   * @throws Error when the plugin declares no state slot (a bug in the plugin).
   */
  get state(): S {
    const slot = this.plugin?.state
    if (!slot) throw new Error(`plugin ${this.plugin?.name ?? '(none)'} declares no state (handler.state)`)
    // the slot is the running plugin's own, whose state is this context's S
    return this.states.of(slot) as S
  }

  get method(): string {
    return this.ctx.req.method ?? 'GET'
  }
  /** Request path as received, without the query string. */
  get path(): string {
    return splitUrl(this.ctx.req.url ?? '/').path
  }
  get headers(): IncomingHttpHeaders {
    return this.ctx.req.headers
  }
  /** First value of a request header; `name` in lower case. */
  header(name: string): string | undefined {
    const v = this.ctx.req.headers[name]
    return Array.isArray(v) ? v[0] : v
  }
  /**
   * Every value of a request header, as many as the client sent lines of it (Node joins
   * most repeated headers into one; Kong's `get_headers()` gives them as a list).
   */
  headerValues(name: string): string[] {
    // the proxy's own request finds one header without building them all
    const req = this.ctx.req as RequestView['req'] & {headerValues?: (name: string) => string[] | undefined}
    return (req.headerValues !== undefined ? req.headerValues(name) : req.headersDistinct[name]) ?? []
  }
  /** The request target as received (path and query; nginx's `$request_uri`). */
  get rawRequestTarget(): string {
    return this.ctx.req.url ?? ''
  }
  /** Every request header, each with the values of all its lines, names in lower case. */
  get headersDistinct(): NodeJS.Dict<string[]> {
    return this.ctx.req.headersDistinct
  }
  /** Kong's `uri_captures`: the whole match (0), positional (from 1) and named captures of the route's regex path. */
  get uriCaptures(): Record<string, string> {
    const c = this.ctx.match?.captures
    const out: Record<string, string> = {}
    if (!c) return out
    if (c.whole !== undefined) out['0'] = c.whole
    c.positional.forEach((v, i) => (out[String(i + 1)] = v))
    return Object.assign(out, c.named)
  }
  /** The client's query string as received (no `?`), for parsers that must see it raw. */
  get rawQuery(): string {
    return splitUrl(this.ctx.req.url ?? '/').query.slice(1)
  }
  /** The client's query arguments (a copy: change the upstream's with `setUpstreamQuery`). */
  get query(): URLSearchParams {
    return (this.queryCache ??= new URLSearchParams(splitUrl(this.ctx.req.url ?? '/').query))
  }
  get ip(): string {
    return this.ctx.remoteAddress
  }
  /** The port the request came in on (Kong's `kong.request.get_port()`). */
  get port(): number {
    return this.ctx.req.socket.localPort ?? 0
  }
  /** The address the request came in on (nginx's `$server_addr`; an IPv4 one without its `::ffff:`). */
  get serverAddress(): string {
    return (this.ctx.req.socket.localAddress ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '')
  }
  /** The client connection: its serial number in this process and its requests so far, this one included (nginx's `$connection`, `$connection_requests`). */
  get connection(): {readonly serial: number; readonly requests: number} {
    return {serial: this.ctx.connectionSerial, requests: this.ctx.connectionRequests}
  }
  get scheme(): 'http' | 'https' {
    return this.ctx.scheme
  }
  get requestId(): string {
    return this.ctx.requestId
  }
  get route(): Route | null {
    return this.ctx.route
  }
  get service(): Service | null {
    return this.ctx.service
  }
  get consumer(): Consumer | null {
    return this.ctx.consumer
  }
  get credential(): Credential | null {
    return this.ctx.credential
  }
  /** Scratch space shared by the plugins of this request (Kong's `kong.ctx.shared`). */
  get shared(): Record<string, unknown> {
    return this.ctx.shared
  }
  get log(): Logger {
    return this.ctx.log
  }
  /** Log phase: whether an upstream answered (else Kong or a plugin did). */
  get proxied(): boolean {
    return this.ctx.tries.some((t) => t.status !== undefined)
  }
  /** Milliseconds: proxy (Kong's own), upstream, total. */
  get latencies(): {proxy?: number; upstream?: number; total?: number} {
    return this.ctx.latencies
  }
  /**
   * Log phase: the request's size as Kong's `request_length` counts it: request line,
   * headers and body (as declared, or as buffered).
   */
  get bytesIn(): number {
    const req = this.ctx.req
    let n = (req.method?.length ?? 0) + (req.url?.length ?? 0) + 12 + 2
    const raw = req.rawHeaders
    for (let i = 0; i < raw.length; i += 2) n += raw[i].length + raw[i + 1].length + 4
    return n + (this.ctx.body?.length ?? Number(req.headers['content-length'] ?? 0))
  }
  /** Log phase: bytes written to the client for this response, headers included (Kong's `bytes_sent`). */
  get bytesOut(): number {
    return Math.max(0, this.ctx.req.socket.bytesWritten - this.ctx.socketBytesWritten)
  }
  /** Status code sent to the client (log phase). */
  get status(): number {
    return this.ctx.res.statusCode
  }
  /** When the request arrived, in milliseconds since the epoch (Kong's `kong.request.get_start_time()`). */
  get startTime(): number {
    return Math.round(performance.timeOrigin + this.ctx.startedAt)
  }
  /** The path and query sent upstream (nginx's `$upstream_uri`); '' when nothing was to go upstream. */
  get upstreamUri(): string {
    return this.ctx.upstream?.path ?? ''
  }
  /** Log phase: the upstream tries, in order. */
  get tries(): ReadonlyArray<UpstreamTry> {
    return this.ctx.tries
  }
  /**
   * Log phase: the headers sent to the client, names in lower case, a list for a repeated
   * one (Kong's `ngx.resp.get_headers()`); read back from the head as written.
   */
  get sentHeaders(): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {}
    const lines = sentHead(this.ctx.res).split('\r\n')
    for (let i = 1; i < lines.length; i++) {
      const at = lines[i].indexOf(':')
      if (at <= 0) continue
      const name = lines[i].slice(0, at).toLowerCase()
      const value = lines[i].slice(at + 1).trim()
      const had = out[name]
      out[name] = had === undefined ? value : [...(Array.isArray(had) ? had : [had]), value]
    }
    return out
  }
  /** The TLS session of an https request (nginx's `$ssl_protocol`, `$ssl_cipher`), else null. */
  get tls(): {version: string; cipher: string} | null {
    if (this.ctx.scheme !== 'https') return null
    const socket = this.ctx.req.socket as TLSSocket
    const version = typeof socket.getProtocol === 'function' ? socket.getProtocol() : null
    if (!version) return null
    return {version, cipher: socket.getCipher()?.name ?? ''}
  }

  /**
   * Sets a value of what loggers write for this request (Kong's
   * `kong.log.set_serialize_value`): a dotted key reaches into objects, made as needed;
   * `undefined` removes the value.
   */
  setSerializeValue(key: string, value: unknown): void {
    ;(this.serializeValues ??= []).push({key, value})
  }

  /**
   * Marks the request as authenticated; later plugins resolve consumer-scoped config. As
   * Kong's `kong.client.authenticate`, either may be null (a credential of no consumer).
   */
  authenticate(consumer: Consumer | null, credential: Credential | null): void {
    this.ctx.consumer = consumer
    this.ctx.credential = credential
  }

  /** Sets (or with null removes) a header of the upstream request. */
  setUpstreamHeader(name: string, value: string | string[] | null): void {
    ;(this.ctx.upstreamHeaders ??= {})[name.toLowerCase()] = value
  }

  /** A header as it will go upstream: changed by plugins so far, else the client's. */
  upstreamHeader(name: string): string | string[] | undefined {
    const lower = name.toLowerCase()
    const changed = this.ctx.upstreamHeaders
    if (changed && lower in changed) return changed[lower] ?? undefined
    return this.ctx.req.headers[lower]
  }

  /** Replaces the method sent upstream. */
  setUpstreamMethod(method: string): void {
    if (this.ctx.upstream) this.ctx.upstream.method = method
  }

  /**
   * Replaces the upstream path, keeping the query string. Characters a request line cannot
   * carry (spaces, controls, non-ASCII: e.g. from decoded URI captures) are percent-encoded.
   */
  setUpstreamPath(path: string): void {
    const up = this.ctx.upstream
    if (!up) return
    const q = up.path.indexOf('?')
    up.path = path.replace(NOT_IN_REQUEST_LINE, percentEncode) + (q < 0 ? '' : up.path.slice(q))
  }

  /** Response phase: rewrite the whole upstream body (buffered); content-length follows. */
  transformResponseBody(fn: (body: Buffer, headers: Record<string, string | string[]>) => Buffer): void {
    ;(this.ctx.responseBodyTransforms ??= []).push(fn)
  }

  /** Replaces the query string sent upstream. */
  setUpstreamQuery(q: URLSearchParams): void {
    const s = q.toString()
    this.queryCache = q
    const up = this.ctx.upstream
    if (!up) return
    // Keep the path a plugin may have rewritten (request-transformer's replace.uri).
    const at = up.path.indexOf('?')
    up.path = (at < 0 ? up.path : up.path.slice(0, at)) + (s ? `?${s}` : '')
  }

  /** Adds a header to the response, whether proxied or produced by a plugin. */
  setResponseHeader(name: string, value: string): void {
    ;(this.ctx.responseHeaders ??= {})[name.toLowerCase()] = value
  }

  /** The whole request body, buffered once (it is then also what goes upstream). */
  async body(): Promise<Buffer> {
    return (this.ctx.body ??= await readBody(this.ctx.req))
  }

  /** The body if already buffered (by `body()`), else null; lets a phase stay sync. */
  get bufferedBody(): Buffer | null {
    return this.ctx.body
  }

  /** Replaces the body sent upstream. */
  setUpstreamBody(body: Buffer): void {
    this.ctx.body = body
  }

  /** Answers with Kong's error template; the request goes no further. */
  error(status: number, message: string, headers: Record<string, string> = {}): void {
    this.exited = {status, message, headers}
  }

  /** Answers with a raw body; the request goes no further. */
  exit(status: number, body?: string, headers: Record<string, string> = {}): void {
    this.exited = {status, body, headers}
  }
}

// eslint-disable-next-line no-control-regex
const NOT_IN_REQUEST_LINE = /[\x00-\x20\x7f-\uffff]+/g

function percentEncode(s: string): string {
  return Buffer.from(s).toString('hex').replace(/../g, '%$&').toUpperCase()
}
