/**
 * HTTP to an Admin API, telling apart what a failed request means for the gateway:
 *
 *   connect ──► write request ──► flushed ──► answer
 *   └─ fails before the request is fully written: the gateway has nothing to act on
 *      (AdminUnreachable: nothing was applied)
 *                                  └─ fails after: the gateway may have acted on it
 *                                     (AnswerLost: outcome unknown)
 *
 * Reads share keep-alive connections; every write gets a connection of its own, so a
 * pooled socket the gateway closed meanwhile is never mistaken for a lost answer.
 */
import {Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage} from 'node:http'
import {Agent as HttpsAgent, request as httpsRequest} from 'node:https'

/** The Admin API could not be reached: the request was not (fully) sent, so nothing was applied. */
export class AdminUnreachable extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`can't reach the Admin API at ${url} (${reason})`)
    this.name = 'AdminUnreachable'
  }
}

/** The request was sent, then the connection failed before the whole answer came: the gateway may or may not have applied it. */
export class AnswerLost extends Error {
  constructor(
    readonly url: string,
    readonly method: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`the connection to the Admin API at ${url} failed after ${method} ${path} was sent and before its answer came (${reason})`)
    this.name = 'AnswerLost'
  }
}

export interface Answer {
  status: number
  contentType: string
  text: string
}

// Idle pooled sockets are unref'd by node, so they never keep the CLI alive.
const readAgents = {http: new HttpAgent({keepAlive: true}), https: new HttpsAgent({keepAlive: true})}

/**
 * One request; the whole answer as text.
 * @throws AdminUnreachable (nothing sent), AnswerLost (a write sent, no answer)
 */
export async function send(base: string, method: string, path: string, body?: {data: Uint8Array | string; headers: Record<string, string>}): Promise<Answer> {
  const read = method === 'GET' || method === 'HEAD'
  try {
    return await once(base, method, path, body, read)
  } catch (err) {
    // A pooled keep-alive socket the gateway closed while this process was busy resets
    // on reuse; a read is safe to send again once.
    if (err instanceof Reused) return once(base, method, path, body, read, true)
    throw err
  }
}

/** A read failed on a reused keep-alive socket: sent again once on a new one. */
class Reused extends Error {}

function once(base: string, method: string, path: string, body: {data: Uint8Array | string; headers: Record<string, string>} | undefined, read: boolean, retried = false): Promise<Answer> {
  const url = new URL(path, base)
  const tls = url.protocol === 'https:'
  return new Promise((resolve, reject) => {
    let flushed = false
    let settled = false
    const fail = (req: ClientRequest, err: NodeJS.ErrnoException) => {
      if (settled) return
      settled = true
      const reason = err.code ?? err.message
      const lost = !read && flushed ? new AnswerLost(base, method, path, reason) : new AdminUnreachable(base, reason)
      reject(read && !retried && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE') ? new Reused() : lost)
    }
    const options = {
      method,
      headers: {...(body?.headers ?? {}), ...(body ? {'content-length': String(Buffer.byteLength(body.data))} : {}), ...(read ? {} : {connection: 'close'})},
      agent: read ? (tls ? readAgents.https : readAgents.http) : false,
    }
    const req: ClientRequest = (tls ? httpsRequest : httpRequest)(url, options, (res: IncomingMessage) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', (err) => fail(req, err))
      res.on('aborted', () => fail(req, Object.assign(new Error('connection closed in the middle of the answer'), {code: 'ECONNRESET'})))
      res.on('end', () => {
        if (settled) return
        if (!res.complete) return fail(req, Object.assign(new Error('connection closed in the middle of the answer'), {code: 'ECONNRESET'}))
        settled = true
        resolve({status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8')})
      })
    })
    req.on('error', (err) => fail(req, err))
    req.end(body?.data, () => (flushed = true))
  })
}
