/** Binding servers with errors that name the address and the conf key that set it. */
import type {Server} from 'node:net'

const REASONS: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'address not available',
}

export function listenError(err: NodeJS.ErrnoException, host: string, port: number, key: string): Error {
  const reason = REASONS[err.code ?? ''] ?? err.message
  return new Error(`could not listen on ${host.includes(':') ? `[${host}]` : host}:${port} (${key}): ${reason}`)
}

export function listen(server: Server, host: string, port: number, key: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(listenError(err, host, port, key))
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      resolve()
    })
  })
}

/** Closes a server and its idle keep-alive sockets. */
export function closeServer(server: Server & {closeIdleConnections?: () => void; closeAllConnections?: () => void}, graceMs = 5000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections?.(), graceMs)
    timer.unref()
    server.close(() => {
      clearTimeout(timer)
      resolve()
    })
    server.closeIdleConnections?.()
  })
}
