/**
 * The serving process's side of supervision (see protocol.ts): where its listeners get
 * their sockets, and how it tells the supervisor that it started, failed or crashed.
 * Outside a supervised serving process (a proxy worker, a test calling startDbLessNode)
 * every function here is inert and listeners bind their own sockets.
 */
import {SPARE_ENV, SUPERVISION_ENV, type SupervisionInfo, type ToServing, type ToSupervisor} from './protocol.js'

let info: SupervisionInfo | null = null
let nextId = 0
const waiting = new Map<number, {resolve(h: object): void; reject(err: Error): void}>()

/**
 * Call once at the start of a serving process. Returns false when this process was not
 * forked by a supervisor. The variable is removed so processes this one forks (proxy
 * workers) do not take themselves for supervised.
 */
export function enterSupervised(): boolean {
  const raw = process.env[SUPERVISION_ENV]
  delete process.env[SUPERVISION_ENV]
  spare = process.env[SPARE_ENV] === '1'
  delete process.env[SPARE_ENV]
  if (!raw || !process.send) return (spare = false)
  try {
    const parsed = JSON.parse(raw) as SupervisionInfo
    info = {restarts: Number(parsed.restarts) || 0, last_crash: parsed.last_crash ?? null}
  } catch {
    info = {restarts: 0, last_crash: null}
  }
  process.on('message', (msg: ToServing, handle?: object) => {
    if (msg?.type === 'activate') {
      info = {restarts: Number(msg.info?.restarts) || 0, last_crash: msg.info?.last_crash ?? null}
      spare = false
      activated?.()
      return
    }
    if (msg?.type === 'retire') {
      retiring = true
      for (const cb of onRetireCallbacks) cb()
      return
    }
    if (msg?.type !== 'listen-result') return
    const w = waiting.get(msg.id)
    if (!w) return
    waiting.delete(msg.id)
    if (handle) w.resolve(handle)
    else w.reject(Object.assign(new Error(msg.message ?? msg.code ?? 'bind failed'), {code: msg.code}))
  })
  return true
}

let started = false
let retiring = false
let spare = false
let activated: (() => void) | null = null

/** True in a warm spare until the supervisor activates it. */
export function isSpare(): boolean {
  return spare
}

/**
 * A warm spare waits here until the supervisor activates it (resolves at once otherwise).
 * It exits when the supervisor goes away first: nobody would ever need it.
 */
export function activation(): Promise<void> {
  if (!spare) return Promise.resolve()
  if (!process.connected) process.exit(0)
  return new Promise((resolve) => {
    const orphaned = () => process.exit(0)
    process.once('disconnect', orphaned)
    activated = () => {
      activated = null
      process.off('disconnect', orphaned)
      resolve()
    }
  })
}
const onRetireCallbacks: (() => void)[] = []

/**
 * Calls `cb` when the supervisor retires this process: a newer serving process (a reload)
 * accepts on the same sockets, so this one stops accepting, drains and exits 0.
 */
export function onRetire(cb: () => void): void {
  onRetireCallbacks.push(cb)
  if (retiring) cb()
}

/**
 * True once retired. Listeners then close gently: the sockets stay open in the newer
 * process, so they stop accepting without closing idle keep-alive connections at once;
 * every further response says `Connection: close`, and connections still idle after
 * IDLE_GRACE_MS are closed (a client sending at that very moment is the only one to see
 * a closed connection, as with nginx's graceful shutdown).
 */
export function retired(): boolean {
  return retiring
}

export const IDLE_GRACE_MS = 2000

/** The node opened every listener: `/status/ready` may say 200 from now on. */
export function markStarted(): void {
  started = true
}

/**
 * True in a supervised serving process until markStarted(): each listener waits for its
 * socket from the supervisor, so the status listener may open before the proxy does.
 */
export function stillStarting(): boolean {
  return info !== null && !started
}

/** Restarts and the last crash, for `/status`; null when not supervised. */
export function supervisionStatus(): SupervisionInfo | null {
  return info
}

/**
 * The supervisor's listening handle for host:port, to pass to `server.listen(handle)`;
 * null when not supervised (bind as usual).
 * @throws Error with `code` (EADDRINUSE, EACCES, …) when the supervisor cannot bind it.
 */
export function listenHandle(key: string, host: string, port: number): Promise<object | null> {
  if (!info) return Promise.resolve(null)
  return new Promise((resolve, reject) => {
    const id = ++nextId
    waiting.set(id, {resolve, reject})
    tell({type: 'listen', id, key, host, port})
  })
}

/** Sends to the supervisor; resolves once sent (or at once when not supervised). */
export function tell(msg: ToSupervisor): Promise<void> {
  if (!info || !process.send || !process.connected) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 1000)
    process.send!(msg, undefined, {}, () => {
      clearTimeout(timer)
      resolve()
    })
  })
}
