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
 *
 * Restarts and the last crash reach `kctl status` through the serving process's `/status`
 * (env at fork, protocol.ts) and through `<prefix>/supervisor.json` (record.ts), which
 * also says why a node that gave up is down.
 */
import {fork, type ChildProcess} from 'node:child_process'
import type {Logger} from '../kit/log.js'
import {decide, DEFAULT_POLICY, type BackoffPolicy} from './backoff.js'
import {BindError, Handles} from './handles.js'
import {SUPERVISION_ENV, type LastCrash, type SupervisionInfo, type ToServing, type ToSupervisor} from './protocol.js'
import {writeRecord, type SupervisionRecord} from './record.js'

export interface SupervisorOptions {
  /** The serving process's entry and arguments. */
  main: string
  args: string[]
  prefix: string
  log: Logger
  policy?: BackoffPolicy
  /** How long a stopping serving process may drain before it is killed; 30 s by default. */
  stopTimeoutMs?: number
}

interface Serving {
  proc: ChildProcess
  bornAt: number
  started: boolean
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
  private serving: Serving | null = null
  private everStarted = false
  private crashes: number[] = []
  private startCrashes = 0
  private restarts = 0
  private lastCrash: LastCrash | null = null
  private timer: NodeJS.Timeout | null = null
  private stopping = false
  private done!: (code: number) => void

  constructor(private readonly opts: SupervisorOptions) {
    this.policy = opts.policy ?? DEFAULT_POLICY
  }

  run(): Promise<number> {
    const finished = new Promise<number>((resolve) => (this.done = resolve))
    this.record('running', null)
    process.once('SIGTERM', () => this.stop('SIGTERM'))
    process.once('SIGINT', () => this.stop('SIGINT'))
    this.fork()
    return finished.finally(() => this.handles.closeAll())
  }

  private fork(): void {
    this.timer = null
    const info: SupervisionInfo = {restarts: this.restarts, last_crash: this.lastCrash}
    this.handles.nextOwner()
    const proc = fork(this.opts.main, this.opts.args, {env: {...process.env, [SUPERVISION_ENV]: JSON.stringify(info)}, stdio: 'inherit'})
    const s: Serving = {proc, bornAt: Date.now(), started: false, said: null, startFailed: false}
    this.serving = s
    proc.on('message', (msg: ToSupervisor) => this.onMessage(s, msg))
    proc.on('exit', (code, signal) => this.onExit(s, code, signal))
    // a send to a process that just died fails here; its exit is handled in onExit
    proc.on('error', (err) => this.opts.log.debug(`serving process ${proc.pid}: ${err.message}`))
    this.record('running', null)
  }

  private onMessage(s: Serving, msg: ToSupervisor): void {
    switch (msg.type) {
      case 'listen':
        this.handles.get(msg.host, msg.port).then(
          (handle) => this.send(s, {type: 'listen-result', id: msg.id}, handle),
          (err: BindError) => this.send(s, {type: 'listen-result', id: msg.id, code: err.code, message: err.message}),
        )
        return
      case 'started':
        s.started = true
        this.everStarted = true
        this.startCrashes = 0
        return
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
    this.serving = null
    const how = signal ? `killed by ${signal}` : `exit code ${code}`
    if (this.stopping) {
      this.record('stopped', null)
      return this.done(code === 0 || signal === 'SIGTERM' ? 0 : 1)
    }
    const {log} = this.opts
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
    const d = decide({crashes: this.crashes, startCrashes: this.startCrashes}, now, this.policy)
    if (!d.restart) {
      const failure = `serving process ${d.reason}; last: ${cause}`
      log.error(`serving process ${s.proc.pid} ${s.started ? 'crashed' : 'crashed while starting'}: ${cause}; giving up`)
      process.stderr.write(`Error: ${failure}\n`)
      this.record('failed', failure)
      return this.done(1)
    }
    this.restarts++
    log.error(`serving process ${s.proc.pid} ${s.started ? 'crashed' : 'crashed while starting'}: ${cause}; restarting it${d.delayMs ? ` in ${d.delayMs} ms` : ''} (restart ${this.restarts})`)
    this.record('running', null)
    this.timer = setTimeout(() => this.fork(), d.delayMs)
  }

  private stop(signal: string): void {
    if (this.stopping) return
    this.stopping = true
    if (this.timer) clearTimeout(this.timer)
    // Once the serving process closes its listeners the sockets close: new connections are
    // refused, as when a node stops without a supervisor.
    this.handles.closeAll()
    const s = this.serving
    if (!s) {
      this.record('stopped', null)
      return this.done(0)
    }
    this.opts.log.info(`received ${signal}; stopping serving process ${s.proc.pid}`)
    s.proc.kill('SIGTERM')
    setTimeout(() => s.proc.kill('SIGKILL'), this.opts.stopTimeoutMs ?? 30_000).unref()
  }

  private record(state: SupervisionRecord['state'], failure: string | null): void {
    try {
      writeRecord(this.opts.prefix, {
        pid: process.pid,
        serving_pid: state === 'running' ? (this.serving?.proc.pid ?? null) : null,
        state,
        restarts: this.restarts,
        last_crash: this.lastCrash,
        failure,
        updated_at: Math.floor(Date.now() / 1000),
      })
    } catch (err) {
      this.opts.log.warn(`could not write the supervision record in ${this.opts.prefix}: ${(err as Error).message}`)
    }
  }
}
