/**
 * A latin1 string written straight to a plain TCP socket's stream handle, as net.Socket's
 * own `_writeGeneric` does (a `WriteWrap` given to `handle.writeLatin1String`), without the
 * Writable in front of it: no write state to keep, no `afterWrite` a tick later. The proxy
 * writes every request head to its upstream and every small response to its client this
 * way; the Writable's bookkeeping around those two writes was ~6 % of the proxy's CPU.
 *
 * Only while the Writable holds nothing (so no byte overtakes another; libuv keeps the
 * order of the writes it was given) on a connected, open, unencrypted socket. Anything else,
 * a Node without the binding, or `KCTL_NODE_NATIVE_WRITES=0`, goes through `socket.write`.
 *
 * As with `socket.write`: the socket's inactivity timer restarts, `bytesWritten` counts the
 * bytes (it reads the handle's own count), a failed write destroys the socket with the
 * error, and the callback runs once the bytes are with the kernel, never before the caller
 * returns. A write still queued when the socket is destroyed calls back with an error
 * (`socket.write` calls back with none, as if it had been written).
 *
 * `holdLatin1` is the same write, held until the event loop's turn ends: every write held
 * in one turn then goes out together, in the order they were given. On loopback a write
 * runs its reader's side of TCP too, and wakes the reader when it sleeps; a proxy that
 * writes one request or response at a time, with ~30 µs of its own work between two, finds
 * its readers asleep each time, and on a virtual machine each of those wake-ups is a call
 * to the hypervisor. Held writes arrive back to back, so a reader woken by the first is still
 * awake for the next ones: a third of the proxy's kernel time per request. For what nothing
 * follows in the turn: a request head with no body, a whole small response. Whoever then
 * writes to or ends the same socket by other means calls `releaseLatin1` first, so that no
 * byte overtakes the held ones; a socket destroyed with a write held calls that write back
 * with an error, as one destroyed while its write was queued in libuv.
 */
import {Socket} from 'node:net'
import {getSystemErrorName} from 'node:util'

export type WriteCallback = (err?: Error | null) => void

interface WriteReq {
  handle: object
  /** a held write's bytes, until the turn ends */
  data: string
  oncomplete: (this: WriteReq, status: number) => void
  async: boolean
  bytes: number
  buffer: null
  socket: Socket
  callback: WriteCallback | undefined
}
interface Binding {
  WriteWrap: new () => WriteReq
  streamBaseState: Int32Array
  kLastWriteWasAsync: number
  kBytesWritten: number
}
interface Internals {
  [HELD]?: WriteReq | null
  _handle?: {writeLatin1String?(req: WriteReq, data: string): number} | null
  _unrefTimer?(): void
  connecting: boolean
  encrypted?: boolean
}

/** The socket's write held for the end of this turn (its own property, null once gone). */
const HELD = Symbol('kctl.heldWrite')

/**
 * The socket's record of its last write that went async: while the handle's queue moves
 * away from it, the socket's inactivity timeout is put off (net.Socket's `_onTimeout`).
 */
const LAST_WRITE_QUEUE_SIZE: symbol | undefined = Object.getOwnPropertySymbols(new Socket()).find((k) => k.description === 'lastWriteQueueSize')

/** Node's stream binding (what net.Socket writes with); null when this Node has none. */
const BINDING: Binding | null = (() => {
  if (process.env.KCTL_NODE_NATIVE_WRITES === '0') return null
  try {
    const b = (process as unknown as {binding(name: string): Partial<Binding>}).binding('stream_wrap')
    const usable = typeof b.WriteWrap === 'function' && b.streamBaseState instanceof Int32Array && typeof b.kLastWriteWasAsync === 'number' && typeof b.kBytesWritten === 'number'
    return usable && LAST_WRITE_QUEUE_SIZE !== undefined ? (b as Binding) : null
  } catch {
    return null
  }
})()

/** Whether writes go to the handle (false: every write is `socket.write`). */
export const nativeWrites = BINDING !== null

export function writeLatin1(socket: Socket, data: string, callback?: WriteCallback): void {
  const s = socket as Socket & Internals
  releaseLatin1(socket)
  if (!direct(s)) return void socket.write(data, 'latin1', callback)
  send(s, newReq(s, data, callback), data)
}

/** `writeLatin1`, held until this turn of the event loop ends (see above). */
export function holdLatin1(socket: Socket, data: string, callback?: WriteCallback): void {
  const s = socket as Socket & Internals
  const held = s[HELD]
  if (held) {
    // a second write to the socket in this turn: it goes after the first, in the same write
    held.data += data
    if (callback) held.callback = held.callback === undefined ? callback : both(held.callback, callback)
    return
  }
  if (!direct(s)) return void socket.write(data, 'latin1', callback)
  const req = newReq(s, data, callback)
  s[HELD] = req
  turn.push(req)
  // a turn with many answers sends them in batches, so the first ones do not wait for them all
  if (turn.length >= HELD_MAX) return sendHeld()
  if (!turnEnding) {
    turnEnding = true
    setImmediate(endTurn)
  }
}

/** Sends the socket's held write now, if it has one (before anything else is written to it, or it is ended). */
export function releaseLatin1(socket: Socket): void {
  const s = socket as Socket & Internals
  const req = s[HELD]
  if (!req) return
  s[HELD] = null
  const data = req.data
  req.data = ''
  if (direct(s)) return send(s, req, data)
  // destroyed (or ended, or written through its Writable) since: what socket.write does with it
  socket.write(data, 'latin1', req.callback)
}

/** Writes held at once at most: ~1 ms of the proxy's work, and enough to find the readers awake. */
const HELD_MAX = 32

/** The writes held in this turn, in the order given; `sendHeld` sends them. */
let turn: WriteReq[] = []
let spare: WriteReq[] = []
let turnEnding = false

function endTurn(): void {
  turnEnding = false
  sendHeld()
}

function sendHeld(): void {
  const reqs = turn
  turn = spare
  spare = reqs
  for (let i = 0; i < reqs.length; i++) {
    const s = reqs[i].socket as Socket & Internals
    // released before: already gone
    if (s[HELD] !== reqs[i]) continue
    try {
      releaseLatin1(s)
    } catch (err) {
      // nothing here throws; if it did, it would be this socket's end, not the others' nor the process's
      s.destroy(err as Error)
    }
  }
  reqs.length = 0
}

function both(a: WriteCallback, b: WriteCallback): WriteCallback {
  return (err) => {
    a(err)
    b(err)
  }
}

/** Whether a write can go straight to the socket's handle (else through its Writable). */
function direct(s: Socket & Internals): boolean {
  const handle = s._handle
  return BINDING !== null && !!handle && typeof handle.writeLatin1String === 'function' && typeof s._unrefTimer === 'function' && !s.connecting && !s.encrypted && !s.destroyed && !s.writableEnded && s.writableLength === 0
}

function newReq(socket: Socket, data: string, callback: WriteCallback | undefined): WriteReq {
  const req = new BINDING!.WriteWrap()
  req.data = data
  req.handle = (socket as Socket & Internals)._handle!
  req.oncomplete = written
  req.async = false
  req.bytes = 0
  req.buffer = null
  req.socket = socket
  req.callback = callback
  return req
}

function send(s: Socket & Internals, req: WriteReq, data: string): void {
  const callback = req.callback
  s._unrefTimer!()
  const status = s._handle!.writeLatin1String!(req, data)
  if (status !== 0) {
    const err = writeError(status)
    s.destroy(err)
    if (callback) process.nextTick(callback, err)
    return
  }
  // written whole now, or the rest queued in libuv: `written` runs once it is out
  if (BINDING!.streamBaseState[BINDING!.kLastWriteWasAsync] === 0) {
    if (callback) process.nextTick(callback, null)
    return
  }
  req.async = true
  // as net.Socket does: a timeout while this write still moves is put off
  ;(s as unknown as Record<symbol, number>)[LAST_WRITE_QUEUE_SIZE!] = BINDING!.streamBaseState[BINDING!.kBytesWritten]
}

/** A queued write is out (or failed, or was cancelled by the socket's end). */
function written(this: WriteReq, status: number): void {
  const socket = this.socket as Socket & Internals
  if (status < 0 || socket.destroyed) {
    const err = status < 0 ? writeError(status) : Object.assign(new Error('Cannot call write after a stream was destroyed'), {code: 'ERR_STREAM_DESTROYED'})
    if (!socket.destroyed) socket.destroy(err)
    this.callback?.(err)
    return
  }
  socket._unrefTimer?.()
  this.callback?.(null)
}

/** The error net.Socket gives for a failed write (`write EPIPE`, …). */
function writeError(status: number): NodeJS.ErrnoException {
  let name: string
  try {
    name = getSystemErrorName(status)
  } catch {
    name = `E${-status}`
  }
  return Object.assign(new Error(`write ${name}`), {errno: status, code: name, syscall: 'write'})
}

/**
 * `socket.bytesWritten`, read from the handle's own count while the Writable holds nothing
 * (every request's start reads it): the getter copies the Writable's buffer to sum it.
 */
export function bytesWritten(socket: Socket): number {
  const s = socket as Socket & Internals & {_bytesDispatched?: number; _pendingData?: unknown}
  // a write held for the end of the turn counts as written, as one in the Writable's buffer
  const held = s[HELD]?.data.length ?? 0
  if (s.writableLength === 0 && s._pendingData == null) {
    const n = s._bytesDispatched
    if (typeof n === 'number') return n + held
  }
  return (socket.bytesWritten ?? 0) + held
}
