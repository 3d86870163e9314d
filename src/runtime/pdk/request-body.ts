/**
 * Reading a proxied request's whole body (request buffering, or a plugin asking for it),
 * and telling the client's failures from the gateway's.
 *
 * A body can fail to arrive because of the client: it goes away before the body is whole
 * (Node's request, and the proxy's own, are then destroyed with `aborted`, code
 * ECONNRESET), or its bytes break the framing (a bad chunk size: the HTTP parser's HPE_*
 * error, which reaches the server's `clientError`, not the request). nginx, so Kong, logs
 * those at `info` ("client prematurely closed connection", "client sent invalid chunked
 * body"): they are not the gateway's errors. They reject as a `ClientBodyError`; anything
 * else the request emits rejects as it came.
 */
import type {IncomingMessage} from 'node:http'

export type ClientBodyFailure = 'closed' | 'malformed'

/** The client made the body unreadable: `closed` (it went away) or `malformed` (the parser refused it). */
export class ClientBodyError extends Error {
  /** The underlying error's code (ECONNRESET, HPE_INVALID_CHUNK_SIZE…), when it had one. */
  readonly code: string | undefined

  constructor(readonly failure: ClientBodyFailure, cause?: Error & {code?: string}) {
    super(failure === 'closed' ? 'client prematurely closed connection' : 'client sent invalid chunked body', {cause})
    this.name = 'ClientBodyError'
    this.code = cause?.code
  }
}

/** Set on a request whose body the parser refused; every read of it (waiting or later) fails with it. */
const REFUSED = Symbol('kctl.bodyRefused')
type Marked = IncomingMessage & {[REFUSED]?: ClientBodyError}

/**
 * Records that the parser refused the rest of `req`'s body (`err`, an HPE_* error): a read
 * waiting for it rejects now, a later one at once. Returns the error the reads reject with.
 */
export function refuseBody(req: IncomingMessage, err: Error & {code?: string}): ClientBodyError {
  const marked = req as Marked
  if (marked[REFUSED] === undefined) {
    marked[REFUSED] = new ClientBodyError('malformed', err)
    req.emit(REFUSED, marked[REFUSED])
  }
  return marked[REFUSED]
}

/** Reads the whole request body (request_buffering), so a retry can send it again. */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const refused = (req as Marked)[REFUSED]
    if (refused !== undefined) return reject(refused)
    // destroyed before it was whole: no event is coming
    if (req.destroyed && !req.complete) return reject(fromClient(req.errored))
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', (err) => reject(fromClient(err)))
    req.on('close', () => !req.complete && reject(new ClientBodyError('closed')))
    req.once(REFUSED, reject)
  })
}

/** The client went away (Node's `aborted`, code ECONNRESET, or a reset socket's own error); else the error as it is. */
function fromClient(err: (Error & {code?: string}) | null | undefined): Error {
  if (err == null || err.code === 'ECONNRESET') return new ClientBodyError('closed', err ?? undefined)
  return err
}
