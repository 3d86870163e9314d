/**
 * Whether the proxy can serve HTTP/1.1 with its own server (connection.ts): Node's internal
 * llhttp binding must be there and parse a known request as the connection expects, and
 * Node's duplicate-header rules (`IncomingMessage.prototype._addHeaderLine`) must give the
 * known result. Checked once per process; when not, or when `KCTL_NODE_HTTP_SERVER=1`,
 * the proxy serves with Node's `http.Server` instead.
 */
import {fastClientProblem, HTTPParser, K_BODY, K_COMPLETE, K_HEADERS_COMPLETE, PARSER_METHODS} from '../upstream/parser.js'
import {addHeaderLine} from './request.js'

let problem: string | null | undefined

/**
 * The server the proxy listens with: its own (`fast`) when Node's internals pass the check,
 * else Node's `http.Server` (`node`), with a notice saying why. `KCTL_NODE_HTTP_SERVER=1`
 * picks Node's (tests run both).
 */
export function downstreamServerKind(notice: (message: string) => void = () => {}): 'fast' | 'node' {
  if (process.env.KCTL_NODE_HTTP_SERVER === '1') return 'node'
  const why = fastServerProblem()
  if (why) notice(`${why}; the proxy serves with node:http instead (slower, same behaviour)`)
  return why ? 'node' : 'fast'
}

/** Why the proxy's own server cannot be used in this process, or null when it can (checked once). */
export function fastServerProblem(): string | null {
  if (problem === undefined) problem = check()
  return problem
}

function check(): string | null {
  const client = fastClientProblem()
  if (client) return client
  const P = HTTPParser as typeof HTTPParser & {REQUEST?: number}
  const methods = PARSER_METHODS
  if (typeof P.REQUEST !== 'number' || methods === null) return "Node's internal HTTP parser has no request mode"
  if (typeof addHeaderLine !== 'function') return "Node's IncomingMessage has no _addHeaderLine"
  try {
    const seen = {method: '', url: '', version: '', headers: [] as string[], keepAlive: false, body: '', complete: false}
    const p = new HTTPParser()
    p.initialize(P.REQUEST, {}, 0, HTTPParser.kLenientNone)
    p[K_HEADERS_COMPLETE] = (major: number, minor: number, h: string[] | undefined, method: number, url: string, _s: unknown, _m: unknown, _u: unknown, keepAlive: boolean) => {
      Object.assign(seen, {method: methods[method], url, version: `${major}.${minor}`, headers: h ?? [], keepAlive})
      return 0
    }
    p[K_BODY] = (chunk: Buffer) => (seen.body += chunk.toString('latin1'))
    p[K_COMPLETE] = () => (seen.complete = true)
    const r = p.execute(Buffer.from('POST /a?b=1 HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n', 'latin1'))
    p.close()
    if (r instanceof Error) return `Node's internal HTTP parser failed on a known request: ${r.message}`
    const dest: Record<string, string | string[]> = {}
    for (let i = 0; i < seen.headers.length; i += 2) addHeaderLine.call({}, seen.headers[i], seen.headers[i + 1], dest)
    addHeaderLine.call({}, 'Set-Cookie', 'c', dest)
    addHeaderLine.call({}, 'Host', 'y', dest)
    const ok = seen.method === 'POST' && seen.url === '/a?b=1' && seen.version === '1.1' && seen.keepAlive && seen.body === 'ok' && seen.complete &&
      JSON.stringify(dest) === '{"host":"x","x-a":"1, 2","transfer-encoding":"chunked","set-cookie":["c"]}'
    return ok ? null : `Node's internal HTTP parser does not behave as expected for requests (${JSON.stringify({...seen, dest})})`
  } catch (err) {
    return `Node's internal HTTP parser failed its request check: ${(err as Error).message}`
  }
}
