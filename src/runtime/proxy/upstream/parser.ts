/**
 * Node's own llhttp binding, the parser its http module runs: the class, its callback slots,
 * and a check that it still behaves as the connections here expect. Internal to Node, so
 * checked once per process before use (`fastClientProblem`).
 */
import {createRequire} from 'node:module'
import type {Socket} from 'node:net'

export interface Parser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void
  execute(data: Buffer): number | Error
  finish(): number | Error | undefined
  close(): void
  consume?(handle: object): void
  unconsume?(): void
  getCurrentBuffer?(): Buffer
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
  kOnExecute?: number
  kLenientNone: number
}

/** Node's internal parser class; null when this Node has none (see `fastClientProblem`). */
const COMMON: {HTTPParser?: ParserClass; methods?: string[]} | null = (() => {
  try {
    return createRequire(import.meta.url)('_http_common') as {HTTPParser?: ParserClass; methods?: string[]}
  } catch {
    return null
  }
})()
const PARSER: ParserClass | null = COMMON?.HTTPParser ?? null
/** The request methods by the parser's numbers (llhttp's order), for requests it parsed; null when unknown. */
export const PARSER_METHODS: readonly string[] | null = Array.isArray(COMMON?.methods) ? COMMON.methods : null
export const HTTPParser = PARSER ?? ({} as ParserClass)
export const K_BEGIN = HTTPParser.kOnMessageBegin
export const K_HEADERS = HTTPParser.kOnHeaders
export const K_HEADERS_COMPLETE = HTTPParser.kOnHeadersComplete
export const K_BODY = HTTPParser.kOnBody
export const K_COMPLETE = HTTPParser.kOnMessageComplete
const K_EXECUTE = HTTPParser.kOnExecute

/** How a connection stops and restarts reading its socket, whichever way its bytes reach the parser. */
export interface Reads {
  /** The parser reads the socket itself: no `data` events; `onExecute` runs after each read. */
  readonly native: boolean
  readonly paused: boolean
  pause(): void
  resume(): void
  /** Gives the socket back (before the parser is closed). */
  release(): void
}

interface StreamHandle {
  isStreamBase?: boolean
  _consumed?: boolean
  readStop(): number
  readStart(): number
}
type SocketInternals = Socket & {_handle?: StreamHandle | null; _unrefTimer?: () => void; encrypted?: boolean}

/** Reads through the socket's `data` events (the public API). */
export function socketReads(socket: Socket): Reads {
  return {
    native: false,
    get paused() {
      return socket.isPaused()
    },
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    release: () => {},
  }
}

/**
 * Has the parser read a plain TCP socket itself, as Node's `http.Server` does
 * (`parser.consume(socket._handle)`): each read goes from the stream straight into llhttp,
 * without the socket's Readable machinery and `data` events, and `onExecute` gets the
 * parser's result for that read (a number, or the Error of a parse failure, its bytes in
 * `parser.getCurrentBuffer()`). The socket's inactivity timer is restarted on each read, as
 * Node's does; the end of the stream and errors still come as the socket's events. Falls
 * back to `data` events (the caller's `execute`) for TLS sockets and when this Node lacks
 * the internals. The parser's callbacks then run from the native read: a throw there would
 * be uncaught, so the caller guards them.
 */
export function consumeReads(parser: Parser, socket: Socket, onExecute: (r: number | Error) => void): Reads {
  const s = socket as SocketInternals
  const handle = s._handle
  if (process.env.KCTL_NODE_NATIVE_READS === '0' || K_EXECUTE === undefined || typeof parser.consume !== 'function' || typeof s._unrefTimer !== 'function' || !handle?.isStreamBase || handle._consumed || s.encrypted) return socketReads(socket)
  handle._consumed = true
  parser.consume(handle)
  let paused = false
  parser[K_EXECUTE] = (r: number | Error) => {
    s._unrefTimer!()
    onExecute(r)
  }
  return {
    native: true,
    get paused() {
      return paused
    },
    pause() {
      if (paused) return
      paused = true
      s._handle?.readStop()
    },
    resume() {
      if (!paused) return
      paused = false
      if (!socket.destroyed) s._handle?.readStart()
    },
    release() {
      parser.unconsume?.()
    },
  }
}

/**
 * Checks, once per process, that Node's internal llhttp binding is there and parses a small
 * known response as this client expects (status, headers, body, completion). Returns why
 * not, or null when it works: an internal API may change with any Node release, and the
 * proxy then falls back to the public client (node-fallback.ts).
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
