/**
 * Binding servers with errors that name the address and the conf key that set it. In a
 * supervised serving process the socket is the supervisor's (supervisor/handles.ts), so it
 * stays open while the serving process restarts.
 */
import net, {type Server} from 'node:net'
import type {IncomingMessage, ServerResponse} from 'node:http'
import {IDLE_GRACE_MS, listenHandle, retired} from './supervisor/serving.js'

const REASONS: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'address not available',
}

export function listenError(err: NodeJS.ErrnoException, host: string, port: number, key: string): Error {
  const reason = REASONS[err.code ?? ''] ?? err.message
  return new Error(`could not listen on ${host.includes(':') ? `[${host}]` : host}:${port} (${key}): ${reason}`)
}

export async function listen(server: Server, host: string, port: number, key: string): Promise<void> {
  const handle = await listenHandle(key, host, port).catch((err: NodeJS.ErrnoException) => {
    throw listenError(err, host, port, key)
  })
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(listenError(err, host, port, key))
    server.once('error', onError)
    const done = () => {
      server.off('error', onError)
      resolve()
    }
    if (handle) server.listen(handle, done)
    else server.listen(port, host, done)
  })
}

type HttpLike = Server & {closeIdleConnections?: () => void; closeAllConnections?: () => void}

/**
 * Stops accepting. Retired by a reload (supervisor/serving.ts), idle keep-alive
 * connections stay open for a moment and are told `Connection: close` on their next
 * response; `http.Server.close()` would close them at once, racing a request on its way.
 * Resolves when the connections still idle should be closed.
 */
export async function stopAccepting(server: HttpLike, onClosed?: () => void): Promise<void> {
  if (!retired()) {
    server.close(onClosed)
    return
  }
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    res.shouldKeepAlive = false
  })
  net.Server.prototype.close.call(server, onClosed)
  await idleGrace(server)
}

/** Up to IDLE_GRACE_MS, or until the server has no connection left. */
async function idleGrace(server: Server): Promise<void> {
  const deadline = Date.now() + IDLE_GRACE_MS
  while (Date.now() < deadline) {
    const open = await new Promise<number>((resolve) => server.getConnections((err, n) => resolve(err ? 0 : n)))
    if (open === 0) return
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Closes a server and its idle keep-alive sockets; in-flight requests get `graceMs`. */
export function closeServer(server: HttpLike, graceMs = 5000): Promise<void> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined
    void stopAccepting(server, () => {
      clearTimeout(timer)
      resolve()
    }).then(() => {
      timer = setTimeout(() => server.closeAllConnections?.(), graceMs)
      timer.unref()
      server.closeIdleConnections?.()
    })
  })
}
