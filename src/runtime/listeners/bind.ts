/**
 * Binding servers with errors that name the address and the conf key that set it. In a
 * supervised serving process the socket is the supervisor's (supervisor/handles.ts), so it
 * stays open while the serving process restarts.
 */
import type {Server} from 'node:net'
import {listenHandle} from '../supervisor/serving.js'

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
