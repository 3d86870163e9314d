/**
 * nginx's `$connection` and `$connection_requests` for the proxy's requests: the serial
 * number of a client connection in this process, and how many requests it has carried so
 * far, the current one included. A connection is numbered when its first request arrives
 * (a TLS or HTTP/2 request's socket is not the one `connection` events give).
 */
export interface ConnectionCount {
  readonly serial: number
  readonly requests: number
}

const counts = new WeakMap<object, {serial: number; requests: number}>()
let serial = 0

/** Counts one more request on `socket` (the request's `req.socket`) and returns where it stands. */
export function countRequest(socket: object): ConnectionCount {
  let c = counts.get(socket)
  if (!c) counts.set(socket, (c = {serial: ++serial, requests: 0}))
  c.requests++
  return {serial: c.serial, requests: c.requests}
}
