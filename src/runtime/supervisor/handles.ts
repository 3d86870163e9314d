/**
 * The supervisor's listening sockets. Each one is bound here once, on the serving
 * process's first request for it, and kept for the supervisor's life; the serving process
 * gets a duplicate over IPC and calls listen() and accept() on it. The supervisor never
 * accepts: the kernel queues connections (up to the backlog) while no serving process is
 * up, and the next one accepts them, so a restart refuses nothing and keep-alive traffic
 * pays nothing per request. The same handles can go to a new process on a reload.
 *
 * Node has no public call that binds without accepting; `net._createServerHandle` (what
 * the cluster module's shared handles use) does exactly that and is kept in this file.
 */
import {lookup} from 'node:dns/promises'
import net from 'node:net'
import {getSystemErrorName} from 'node:util'

/** A bound TCP handle (libuv), as child_process.send passes it. */
export interface ListenHandle {
  close(cb?: () => void): void
  getsockname(out: {port?: number}): number
}

type CreateServerHandle = (address: string, port: number, addressType: number) => ListenHandle | number
const createServerHandle = (net as unknown as {_createServerHandle: CreateServerHandle})._createServerHandle

export class BindError extends Error {
  constructor(readonly code: string, message: string) {
    super(message)
  }
}

export class Handles {
  private readonly bound = new Map<string, Promise<ListenHandle>>()
  /** host|port handed to each serving process (by pid): a second listener there is refused. */
  private readonly given = new Map<number, Set<string>>()

  /**
   * The handle for host:port, bound on first use. Several serving processes may hold the
   * same one (during a reload the old and the new both accept on it).
   * @throws BindError (code EADDRINUSE, …), also when this serving process already has this
   *   address (two listeners on one port)
   */
  get(owner: number, host: string, port: number): Promise<ListenHandle> {
    const key = `${host}|${port}`
    let mine = this.given.get(owner)
    if (!mine) this.given.set(owner, (mine = new Set()))
    if (port !== 0 && mine.has(key)) return Promise.reject(new BindError('EADDRINUSE', 'EADDRINUSE'))
    mine.add(key)
    let h = this.bound.get(key)
    if (!h) {
      h = bind(host, port)
      this.bound.set(key, h)
      // a failed bind is not kept: the next start may find the port free
      h.catch(() => this.bound.delete(key))
    }
    return h
  }

  /** Every bound handle with its address, for a successor supervisor (a handover). */
  async entries(): Promise<{host: string; port: number; handle: ListenHandle}[]> {
    const out: {host: string; port: number; handle: ListenHandle}[] = []
    for (const [key, h] of this.bound) {
      const handle = await h.catch(() => null)
      const i = key.lastIndexOf('|')
      if (handle) out.push({host: key.slice(0, i), port: Number(key.slice(i + 1)), handle})
    }
    return out
  }

  /** A handle bound by the supervisor this one takes over from. */
  adopt(host: string, port: number, handle: ListenHandle): void {
    this.bound.set(`${host}|${port}`, Promise.resolve(handle))
  }

  /** The serving process `owner` is gone. */
  release(owner: number): void {
    this.given.delete(owner)
  }

  /**
   * Closes the handles `owner` did not ask for: after a reload whose configuration no
   * longer listens somewhere, that port is freed.
   */
  keepOnly(owner: number): void {
    const mine = this.given.get(owner) ?? new Set()
    for (const [key, h] of this.bound) {
      if (mine.has(key)) continue
      this.bound.delete(key)
      h.then((handle) => handle.close(), () => {})
    }
  }

  /** Closes every handle (the sockets close once no other process holds them). */
  closeAll(): void {
    for (const h of this.bound.values()) h.then((handle) => handle.close(), () => {})
    this.bound.clear()
  }
}

async function bind(host: string, port: number): Promise<ListenHandle> {
  let address = host
  if (!net.isIP(host)) {
    try {
      address = (await lookup(host)).address
    } catch (err) {
      throw new BindError((err as NodeJS.ErrnoException).code ?? 'ENOTFOUND', (err as Error).message)
    }
  }
  const h = createServerHandle(address, port, net.isIPv6(address) ? 6 : 4)
  if (typeof h === 'number') {
    const code = getSystemErrorName(h)
    throw new BindError(code, code)
  }
  // libuv defers EADDRINUSE from bind() to listen(): a handle left unbound says port 0
  const out: {port?: number} = {}
  if (port !== 0 && (h.getsockname(out) !== 0 || out.port !== port)) {
    h.close()
    throw new BindError('EADDRINUSE', 'EADDRINUSE')
  }
  return h
}
