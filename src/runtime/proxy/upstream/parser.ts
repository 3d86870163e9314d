/**
 * Node's own llhttp binding, the parser its http module runs: the class, its callback slots,
 * and a check that it still behaves as the connections here expect. Internal to Node, so
 * checked once per process before use (`fastClientProblem`).
 */
import {createRequire} from 'node:module'

export interface Parser {
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
