/**
 * A node's supervisor: the process kctl launches and records (`node main.js --conf …`).
 * It runs no request handling, so no request can bring it down; it owns the listening
 * sockets (handles.ts) and runs the serving process, the node proper (main.ts in serving
 * mode: Admin API, proxy or proxy workers, status listener, CP link or cluster listener).
 *
 *   start ─► fork serving ─► it asks for each listener's socket ─► started
 *   serving exits unexpectedly ─► log the cause, record it ─► backoff.ts: fork again
 *     (at once, or after a growing delay) or give up: record `failed` + cause, exit 1
 *   first start refused (bad database, port in use: its `Error:` line) ─► exit 1 at once
 *   SIGTERM/SIGINT ─► close our copies of the sockets ─► serving drains ─► exit 0
 *   SIGHUP (reload) ─► fork a new serving process beside the current one; it reads the conf
 *     (and code) afresh and takes the same sockets ─► started: the old one retires (drains,
 *     exits 0) ─► handles the new one did not ask for are closed
 *     └─ the new one exits or is not started within reloadTimeoutMs ─► it is stopped, the
 *        old one keeps serving, `last_reload` says why
 *   A reload's serving process, and a handover's new supervisor, run the code that
 *   `<prefix>/runtime.entry` names (entry.ts; an upgrade), else the code running now; a
 *   crash restart always runs the code that was running.
 *   started, its conf wants a warm spare (kctl_warm_spare) ─► SPARE_DELAY_MS later, fork one
 *     with that code: it loads the code and waits. A crash restart or a reload running the
 *     same code activates it instead of forking (it reads the conf then), and a new spare
 *     follows once that one started. A spare that dies is replaced, up to MAX_SPARE_DEATHS
 *     in SPARE_DEATH_WINDOW_MS; then the node runs without one and says so.
 *
 * Restarts and the last crash reach `kctl status` through the serving process's `/status`
 * (env at fork, protocol.ts) and through `<prefix>/supervisor.json` (record.ts), which
 * also says why a node that gave up is down. `<prefix>/supervisor.pid` names the supervisor
 * that owns the node (a successor writes it as it takes over, before the old one exits), for
 * a systemd unit's PIDFile=.
 */
import {fork, spawn, type ChildProcess} from 'node:child_process'
import type {Logger} from '../kit/log.js'
import {decide, DEFAULT_POLICY, type BackoffPolicy} from './backoff.js'
import {nodeFor, readEntry} from './entry.js'
import {BindError, Handles} from './handles.js'
import {HANDOVER_ENV, SPARE_ENV, SUPERVISION_ENV, type FromSuccessor, type LastCrash, type LastHandover, type LastReload, type SupervisionInfo, type ToServing, type ToSuccessor, type ToSupervisor} from './protocol.js'
import type {ListenHandle} from './handles.js'
import {removePidFile, writePidFile, writeRecord, type SupervisionRecord} from './record.js'

export interface SupervisorOptions {
  /** The serving process's entry and arguments. */
  main: string
  args: string[]
  prefix: string
  log: Logger
  policy?: BackoffPolicy
  /** How long a stopping serving process may drain before it is killed; 30 s by default. */
  stopTimeoutMs?: number
  /** How long a reload's new serving process (or a handover's new supervisor) may take to start; 60 s by default. */
  reloadTimeoutMs?: number
  /**
   * Set when this supervisor takes over from another (a handover, protocol.ts): when the
   * SIGUSR2 was received (ms). Its sockets come from the other one over IPC, and it writes
   * no record until its serving process started.
   */
  successorOf?: {at: number}
}

/**
 * A warm spare is forked this long after the serving process started, off its start's CPU: a
 * data plane's first sync, or a node's first requests, come before it on a small host.
 */
const SPARE_DELAY_MS = 5000
const MAX_SPARE_DEATHS = 3
const SPARE_DEATH_WINDOW_MS = 60_000

/**
 * A serving process. `current` serves; a reload's `candidate` starts beside it; `retiring`
 * drains after a candidate took over; `rejected` is a candidate being stopped; a `spare`
 * waits to be activated as the next current or candidate; `dropped` is a spare being
 * stopped.
 */
interface Serving {
  proc: ChildProcess
  /** The entry it runs. */
  main: string
  role: 'current' | 'candidate' | 'retiring' | 'rejected' | 'spare' | 'dropped'
  started: boolean
  /** A spare that loaded its code. */
  standingBy: boolean
  /** The `crashed:` or `start-failed` line it sent before exiting. */
  said: string | null
  startFailed: boolean
}

/** Runs until the node stops; resolves with the supervisor's exit code. */
export function supervise(opts: SupervisorOptions): Promise<number> {
  return new Supervisor(opts).run()
}

class Supervisor {
  private readonly handles = new Handles()
  private readonly policy: BackoffPolicy
  private readonly live = new Set<Serving>()
  private current: Serving | null = null
  private candidate: {s: Serving; at: number; timer: NodeJS.Timeout} | null = null
  private reloadAgain = false
  private everStarted = false
  private crashes: number[] = []
  private startCrashes = 0
  private restarts = 0
  private lastCrash: LastCrash | null = null
  private reloads = 0
  private lastReload: LastReload | null = null
  private timer: NodeJS.Timeout | null = null
  private lastHandover: LastHandover | null = null
  /** A handover in progress: the new supervisor. */
  private successor: {child: ChildProcess; at: number; timer: NodeJS.Timeout} | null = null
  /** Handed over: this supervisor only waits for its serving process to drain, and writes nothing. */
  private handedOver = false
  /** False for a successor until its serving process started (the other one owns the record). */
  private owner: boolean
  private stopping = false
  private stopCode = 0
  private done!: (code: number) => void
  /** The entry the current serving process runs, and a restart after a crash runs. */
  private main: string
  private spare: Serving | null = null
  /** The current serving process's conf wants a spare. */
  private spareWanted = false
  private spareTimer: NodeJS.Timeout | null = null
  private spareDeaths: number[] = []

  constructor(private readonly opts: SupervisorOptions) {
    this.policy = opts.policy ?? DEFAULT_POLICY
    this.owner = !opts.successorOf
    this.main = opts.main
  }

  /** What a reload or a handover runs: the entry `<prefix>/runtime.entry` names, else the current one. */
  private nextEntry(): string {
    const entry = readEntry(this.opts.prefix) ?? this.main
    if (entry !== this.main) this.opts.log.notice(`runs ${entry} from now on (was ${this.main})`)
    return entry
  }

  run(): Promise<number> {
    const finished = new Promise<number>((resolve) => (this.done = resolve))
    if (this.owner) this.ownPidFile()
    this.record('running', null)
    process.once('SIGTERM', () => this.stop('SIGTERM'))
    process.once('SIGINT', () => this.stop('SIGINT'))
    process.on('SIGHUP', () => this.reload())
    process.on('SIGUSR2', () => this.handOver())
    if (this.opts.successorOf) void this.adoptHandles().then(() => this.fork())
    else this.fork()
    return finished.finally(() => {
      this.handles.closeAll()
      removePidFile(this.opts.prefix)
    })
  }

  /** `<prefix>/supervisor.pid` names this process: a service manager follows the node here. */
  private ownPidFile(): void {
    try {
      writePidFile(this.opts.prefix)
    } catch (err) {
      this.opts.log.warn(`could not write ${this.opts.prefix}/supervisor.pid: ${(err as Error).message}`)
    }
  }

  /** A successor: every socket of the supervisor it takes over from, before its serving process starts. */
  private adoptHandles(): Promise<void> {
    return new Promise((resolve) => {
      const onMessage = (msg: ToSuccessor, handle?: ListenHandle) => {
        if (msg?.type === 'handle' && handle) this.handles.adopt(msg.host, msg.port, handle)
        if (msg?.type !== 'handles-done') return
        process.off('message', onMessage)
        resolve()
      }
      process.on('message', onMessage)
      // the other one gone already: bind afresh
      process.once('disconnect', resolve)
      this.tellPredecessor({type: 'handles?'})
    })
  }

  private tellPredecessor(msg: FromSuccessor): Promise<void> {
    if (!process.send || !process.connected) return Promise.resolve()
    return new Promise((resolve) => process.send!(msg, undefined, {}, () => resolve()))
  }

  private info(): SupervisionInfo {
    return {restarts: this.restarts, last_crash: this.lastCrash}
  }

  private spawn(role: Serving['role'], main = this.main): Serving {
    const env: NodeJS.ProcessEnv = {...process.env, [SUPERVISION_ENV]: JSON.stringify(this.info())}
    if (role === 'spare') env[SPARE_ENV] = '1'
    const proc = fork(main, this.opts.args, {execPath: nodeFor(main), env, stdio: 'inherit'})
    const s: Serving = {proc, main, role, started: false, standingBy: false, said: null, startFailed: false}
    this.live.add(s)
    proc.on('message', (msg: ToSupervisor) => this.onMessage(s, msg))
    proc.on('exit', (code, signal) => this.onExit(s, code, signal))
    // a send to a process that just died fails here; its exit is handled in onExit
    proc.on('error', (err) => this.opts.log.debug(`serving process ${proc.pid}: ${err.message}`))
    return s
  }

  /** At start and after a crash. */
  private fork(): void {
    this.timer = null
    this.current = this.activateSpare('current', this.main) ?? this.spawn('current')
    this.record('running', null)
  }

  /** The spare, activated as `role`, when it runs `main`; null when there is none to take. */
  private activateSpare(role: 'current' | 'candidate', main: string): Serving | null {
    const s = this.spare
    if (!s || s.main !== main || !s.proc.connected) return null
    this.spare = null
    s.role = role
    this.send(s, {type: 'activate', info: this.info()})
    this.opts.log.notice(`warm spare ${s.proc.pid} starts as the ${role === 'current' ? 'serving process' : "reload's new serving process"}`)
    return s
  }

  /** After a serving process started: a spare that runs its code, when its conf wants one. */
  private keepSpare(): void {
    if (this.spareTimer) clearTimeout(this.spareTimer)
    this.spareTimer = null
    const s = this.spare
    if (s && (!this.spareWanted || s.main !== this.main)) this.dropSpare()
    if (!this.spareWanted || this.spare || this.stopping || this.handedOver || !this.current?.started) return
    const now = Date.now()
    if (this.spareDeaths.filter((t) => now - t < SPARE_DEATH_WINDOW_MS).length >= MAX_SPARE_DEATHS) return
    this.spareTimer = setTimeout(() => {
      this.spareTimer = null
      if (this.spare || this.stopping || this.handedOver || !this.spareWanted || !this.current?.started) return
      this.spare = this.spawn('spare')
      this.opts.log.debug(`warm spare ${this.spare.proc.pid} forked`)
      this.record('running', null)
    }, SPARE_DELAY_MS)
  }

  private dropSpare(): void {
    const s = this.spare
    if (!s) return
    this.spare = null
    s.role = 'dropped'
    s.proc.kill('SIGTERM')
  }

  /** A spare died without being asked to: replaced, unless that keeps happening. */
  private spareDied(s: Serving, how: string): void {
    if (this.spare === s) this.spare = null
    if (this.stopping || this.handedOver) return
    const now = Date.now()
    this.spareDeaths = [...this.spareDeaths.filter((t) => now - t < SPARE_DEATH_WINDOW_MS), now]
    if (this.spareDeaths.length >= MAX_SPARE_DEATHS) {
      this.opts.log.warn(`warm spare ${s.proc.pid} exited (${how}), the ${this.spareDeaths.length}th time within ${SPARE_DEATH_WINDOW_MS / 1000} s; running without a spare: a restart after a crash loads the code anew`)
    } else {
      this.opts.log.warn(`warm spare ${s.proc.pid} exited (${how}); forking another`)
    }
    this.record('running', null)
    this.keepSpare()
  }

  private onMessage(s: Serving, msg: ToSupervisor): void {
    switch (msg.type) {
      case 'listen':
        this.handles.get(s.proc.pid ?? 0, msg.host, msg.port).then(
          (handle) => this.send(s, {type: 'listen-result', id: msg.id}, handle),
          (err: BindError) => this.send(s, {type: 'listen-result', id: msg.id, code: err.code, message: err.message}),
        )
        return
      case 'started':
        s.started = true
        this.spareWanted = msg.spare === true
        if (s.role === 'candidate') return this.promote()
        this.everStarted = true
        this.startCrashes = 0
        if (!this.owner) this.takeOwnership()
        this.keepSpare()
        return
      case 'standing-by':
        if (s.role !== 'spare') return
        s.standingBy = true
        this.opts.log.debug(`warm spare ${s.proc.pid} stands by`)
        return this.record('running', null)
      case 'start-failed':
        s.said = msg.message
        s.startFailed = true
        return
      case 'crashed':
        s.said = `crashed: ${msg.cause}`
    }
  }

  private send(s: Serving, msg: ToServing, handle?: unknown): void {
    if (s.proc.connected) s.proc.send(msg, handle as never)
  }

  private onExit(s: Serving, code: number | null, signal: NodeJS.Signals | null): void {
    this.live.delete(s)
    this.handles.release(s.proc.pid ?? 0)
    const how = signal ? `killed by ${signal}` : `exit code ${code}`
    const {log} = this.opts
    if (s.role === 'retiring') {
      log.notice(`previous serving process ${s.proc.pid} exited (${how}) after handing over`)
      return this.checkStopped()
    }
    if (s.role === 'rejected' || s.role === 'dropped') return this.checkStopped()
    if (s.role === 'spare') {
      this.spareDied(s, how)
      return this.checkStopped()
    }
    if (s.role === 'candidate') {
      if (this.stopping) return this.checkStopped()
      return this.reject(s.said ?? `exited (${how}) before it was ready`)
    }
    // the current serving process
    this.current = null
    if (this.stopping) {
      this.stopCode = code === 0 || signal === 'SIGTERM' ? 0 : 1
      return this.checkStopped()
    }
    if (!this.owner) {
      // a successor whose serving process did not start: the other supervisor keeps serving
      void this.tellPredecessor({type: 'failed', message: s.said ?? `its serving process exited (${how}) before it started`}).finally(() => this.done(1))
      return
    }
    if (s.startFailed && !this.everStarted) {
      // refused at its first start: its `Error:` lines say why; retrying would say it again
      this.record('failed', s.said)
      return this.done(1)
    }
    const now = Date.now()
    const cause = s.said ? `${how} (${s.said})` : how
    this.lastCrash = {at: Math.floor(now / 1000), cause}
    this.crashes = [...this.crashes.filter((t) => now - t < this.policy.windowMs), now]
    if (!s.started) this.startCrashes++
    if (this.candidate) {
      // a reload's new process is starting: it takes over, or its failure restarts one
      log.error(`serving process ${s.proc.pid} crashed during a reload: ${cause}; the new one takes over once started`)
      return this.record('running', null)
    }
    this.restartAfterCrash(s.started, s.proc.pid, cause)
  }

  private restartAfterCrash(started: boolean, pid: number | undefined, cause: string): void {
    const {log} = this.opts
    const d = decide({crashes: this.crashes, startCrashes: this.startCrashes}, Date.now(), this.policy)
    if (!d.restart) {
      const failure = `serving process ${d.reason}; last: ${cause}`
      log.error(`serving process ${pid} ${started ? 'crashed' : 'crashed while starting'}: ${cause}; giving up`)
      process.stderr.write(`Error: ${failure}\n`)
      this.record('failed', failure)
      return this.done(1)
    }
    this.restarts++
    log.error(`serving process ${pid} ${started ? 'crashed' : 'crashed while starting'}: ${cause}; restarting it${d.delayMs ? ` in ${d.delayMs} ms` : ''} (restart ${this.restarts})`)
    this.record('running', null)
    this.timer = setTimeout(() => this.fork(), d.delayMs)
  }

  /** SIGHUP: a new serving process beside the current one, which retires once it started. */
  private reload(): void {
    if (this.stopping) return
    const at = Date.now()
    const {log} = this.opts
    if (this.candidate) {
      log.notice('received SIGHUP during a reload; reloading again once this one is done')
      this.reloadAgain = true
      return
    }
    if (!this.current) {
      // between two restarts after a crash: the next serving process reads everything afresh
      log.notice('received SIGHUP while no serving process runs; the next one reads the new configuration')
      this.lastReload = {at, ok: true, error: null}
      return this.record('running', null)
    }
    const entry = this.nextEntry()
    const s = this.activateSpare('candidate', entry) ?? this.spawn('candidate', entry)
    log.notice(`received SIGHUP; serving process ${s.proc.pid} starts to take over from ${this.current.proc.pid}`)
    const timeoutMs = this.opts.reloadTimeoutMs ?? 60_000
    const timer = setTimeout(() => this.reject(`was not ready within ${Math.round(timeoutMs / 1000)} s`), timeoutMs)
    this.candidate = {s, at, timer}
  }

  /** The reload's new serving process started: it becomes current, the old one retires. */
  private promote(): void {
    const c = this.candidate!
    clearTimeout(c.timer)
    this.candidate = null
    const old = this.current
    c.s.role = 'current'
    this.current = c.s
    this.main = c.s.main
    this.everStarted = true
    this.startCrashes = 0
    this.reloads++
    this.lastReload = {at: c.at, ok: true, error: null}
    if (old) this.retire(old)
    // ports the new configuration no longer listens on are freed
    this.handles.keepOnly(c.s.proc.pid ?? 0)
    this.opts.log.notice(`reloaded: serving process ${c.s.proc.pid} serves${old ? `, ${old.proc.pid} drains and exits` : ''}`)
    this.record('running', null)
    this.keepSpare()
    this.reloadNext()
  }

  private retire(s: Serving): void {
    if (s.role === 'spare' || s.role === 'dropped') {
      s.role = 'dropped'
      s.proc.kill('SIGTERM')
      return
    }
    s.role = 'retiring'
    if (s.proc.connected) this.send(s, {type: 'retire'})
    else s.proc.kill('SIGTERM')
    setTimeout(() => s.proc.kill('SIGKILL'), this.opts.stopTimeoutMs ?? 30_000).unref()
  }

  /** The reload's new serving process will not serve: stop it, keep the current one. */
  private reject(why: string): void {
    const c = this.candidate
    if (!c) return
    clearTimeout(c.timer)
    this.candidate = null
    c.s.role = 'rejected'
    if (c.s.proc.exitCode === null && c.s.proc.signalCode === null) c.s.proc.kill('SIGKILL')
    this.handles.release(c.s.proc.pid ?? 0)
    this.lastReload = {at: c.at, ok: false, error: `the new serving process ${why}`}
    const {log} = this.opts
    if (this.current) {
      log.error(`reload failed: the new serving process ${c.s.proc.pid} ${why}; ${this.current.proc.pid} keeps serving`)
      this.record('running', null)
      this.keepSpare()
    } else {
      // the old one crashed meanwhile: back to restarting after a crash
      log.error(`reload failed: the new serving process ${c.s.proc.pid} ${why}`)
      this.restartAfterCrash(false, c.s.proc.pid, `reload: ${why}`)
    }
    this.reloadNext()
  }

  private reloadNext(): void {
    if (!this.reloadAgain) return
    this.reloadAgain = false
    this.reload()
  }

  /** A successor's serving process started: this supervisor is the node's from now on. */
  private takeOwnership(): void {
    this.owner = true
    // before the predecessor exits: systemd reads the file when the unit's main process ends
    this.ownPidFile()
    const at = this.opts.successorOf?.at ?? Date.now()
    this.lastHandover = {at, ok: true, pid: process.pid, error: null}
    this.record('running', null)
    this.opts.log.notice(`took over the node's sockets; serving process ${this.current?.proc.pid} serves`)
    void this.tellPredecessor({type: 'took-over'}).finally(() => {
      if (process.connected) process.disconnect()
    })
  }

  /**
   * SIGUSR2: a new supervisor (the runtime's code read afresh, as for an upgrade) takes
   * every socket; once its serving process started, this one retires its own and exits.
   */
  private handOver(): void {
    const {log} = this.opts
    if (this.stopping || this.handedOver || !this.owner) return
    const at = Date.now()
    if (this.successor || this.candidate) {
      log.notice('received SIGUSR2 during a reload or handover; ignored')
      this.lastHandover = {at, ok: false, pid: null, error: 'a reload or handover was in progress'}
      return this.record('running', null)
    }
    const env: NodeJS.ProcessEnv = {...process.env, [HANDOVER_ENV]: String(at)}
    const next = this.nextEntry()
    const child = spawn(nodeFor(next), [...process.execArgv, next, ...this.opts.args], {detached: true, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env})
    child.on('error', (err) => this.handOverFailed(`could not start: ${err.message}`))
    const timeoutMs = this.opts.reloadTimeoutMs ?? 60_000
    const timer = setTimeout(() => this.handOverFailed(`was not serving within ${Math.round(timeoutMs / 1000)} s`), timeoutMs)
    this.successor = {child, at, timer}
    log.notice(`received SIGUSR2; supervisor ${child.pid} starts to take over the node's sockets`)
    child.on('message', (msg: FromSuccessor) => {
      if (msg?.type === 'handles?') void this.sendHandles(child)
      else if (msg?.type === 'took-over') this.tookOver()
      else if (msg?.type === 'failed') this.handOverFailed(`did not start: ${msg.message}`)
    })
    child.on('exit', (code, signal) => {
      if (this.successor?.child === child) this.handOverFailed(`exited (${signal ? `killed by ${signal}` : `exit code ${code}`}) before serving`)
    })
  }

  private async sendHandles(child: ChildProcess): Promise<void> {
    for (const e of await this.handles.entries()) {
      if (!child.connected) return
      child.send({type: 'handle', host: e.host, port: e.port} satisfies ToSuccessor, e.handle as never)
    }
    if (child.connected) child.send({type: 'handles-done'} satisfies ToSuccessor)
  }

  private handOverFailed(why: string): void {
    const s = this.successor
    if (!s) return
    clearTimeout(s.timer)
    this.successor = null
    if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL')
    this.lastHandover = {at: s.at, ok: false, pid: s.child.pid ?? null, error: `the new supervisor ${why}`}
    this.opts.log.error(`handover failed: the new supervisor ${s.child.pid} ${why}; this one keeps the node`)
    this.record('running', null)
  }

  /** The successor serves: retire our serving process, exit once it drained. */
  private tookOver(): void {
    const s = this.successor!
    clearTimeout(s.timer)
    this.successor = null
    this.handedOver = true
    this.stopping = true
    if (this.timer) clearTimeout(this.timer)
    if (this.spareTimer) clearTimeout(this.spareTimer)
    this.spare = null
    if (s.child.connected) s.child.disconnect()
    s.child.unref()
    this.handles.closeAll()
    this.opts.log.notice(`supervisor ${s.child.pid} took over${this.current ? `; serving process ${this.current.proc.pid} drains and exits` : ''}`)
    for (const x of this.live) this.retire(x)
    this.checkStopped()
  }

  private stop(signal: string): void {
    if (this.stopping) return
    this.stopping = true
    if (this.timer) clearTimeout(this.timer)
    if (this.spareTimer) clearTimeout(this.spareTimer)
    this.spare = null
    if (this.candidate) clearTimeout(this.candidate.timer)
    // Once the serving process closes its listeners the sockets close: new connections are
    // refused, as when a node stops without a supervisor.
    this.handles.closeAll()
    if (this.live.size === 0) return this.checkStopped()
    this.opts.log.info(`received ${signal}; stopping serving process ${[...this.live].map((s) => s.proc.pid).join(', ')}`)
    for (const s of this.live) {
      s.proc.kill('SIGTERM')
      setTimeout(() => s.proc.kill('SIGKILL'), this.opts.stopTimeoutMs ?? 30_000).unref()
    }
  }

  /** Once stopping and every serving process is gone: the supervisor is done. */
  private checkStopped(): void {
    if (!this.stopping || this.live.size > 0) return
    this.record('stopped', null)
    this.done(this.stopCode)
  }

  private record(state: SupervisionRecord['state'], failure: string | null): void {
    // the record is the node's: a successor writes it once it serves, a predecessor no more
    if (!this.owner || this.handedOver) return
    try {
      writeRecord(this.opts.prefix, {
        pid: process.pid,
        serving_pid: state === 'running' ? (this.current?.proc.pid ?? null) : null,
        spare_pid: state === 'running' && this.spare?.standingBy ? this.spare.proc.pid : null,
        state,
        restarts: this.restarts,
        last_crash: this.lastCrash,
        failure,
        reloads: this.reloads,
        last_reload: this.lastReload,
        last_handover: this.lastHandover,
        entry: this.main,
        updated_at: Math.floor(Date.now() / 1000),
      })
    } catch (err) {
      this.opts.log.warn(`could not write the supervision record in ${this.opts.prefix}: ${(err as Error).message}`)
    }
  }
}
