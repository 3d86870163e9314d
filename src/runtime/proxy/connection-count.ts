/**
 * nginx's `$connection` and `$connection_requests` for the proxy's requests: the serial
 * number of a client connection in this process, and how many requests it has carried so
 * far, the current one included. A connection is numbered when its first request arrives
 * (a TLS or HTTP/2 request's socket is not the one `connection` events give). The count
 * rides on the socket; a request keeps the two numbers, not an object of its own.
 */
const COUNT = Symbol('kctl.connection-count')

interface Counted {
  [COUNT]?: {serial: number; requests: number}
}

let serial = 0

/** Counts one more request on `socket` (the request's `req.socket`) and returns its serial and count. */
export function countRequest(socket: object): {serial: number; requests: number} {
  const s = socket as Counted
  const c = (s[COUNT] ??= {serial: ++serial, requests: 0})
  c.requests++
  return c
}
