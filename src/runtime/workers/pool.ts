/**
 * The primary's side of multi-process proxying (`node_worker_processes` > 1). Workers are
 * forked with Node's cluster module, so they share the proxy listen sockets (the primary
 * accepts and hands connections out round-robin); everything else a node has (database,
 * Admin API, status listener, CP link or CP listener, the DP cache) stays in the primary.
 *
 *   primary                                       worker (one of N)
 *   ───────                                       ─────────────────
 *   fork ───────────────────────────────────────► start ─► hello
 *   init(conf) + config(v current) ◄───────────── hello
 *                                                 build snapshot, swap ─► applied(v)
 *                                                 open proxy_listen ─► listening (takes traffic)
 *   apply(v+1): build (validates) ─► config(v+1) ─► build, swap ─► applied(v+1)
 *   apply resolves once every fed worker has applied v+1: the Admin write returns,
 *   /status/ready is 200 only while all N listen on the current version
 *   worker exits unexpectedly ─► log the reason ─► fork a new one (1 s later if it died
 *   within a second of its start, so a crash loop does not spin)
 *   close ─► drain ──────────────────────────────► stop accepting, finish in-flight, exit 0
 *   every worker gone (SIGKILL past the drain bound) ─► close resolves
 */
import cluster, {type Worker} from 'node:cluster'
import {fileURLToPath} from 'node:url'
import type {NodeConf} from '../conf/defaults.js'
import type {EntityArrays} from '../db/load-entities.js'
import type {Logger} from '../kit/log.js'
import {Metrics, renderMetrics, type MetricsDump, type NodeGauges} from '../plugins/registry.js'
import type {ProxyStats} from '../proxy/server.js'
import {buildSnapshot, emptySnapshot, type ProxySnapshot} from '../proxy/snapshot.js'
import type {FromWorker, ToWorker} from './messages.js'
import {checksOn} from '../proxy/health/settings.js'
import type {HealthView, HostStats, ProxyHost, WorkerStats} from './proxy-host-types.js'

export interface PoolOptions {
  conf: NodeConf
  log: Logger
  /** Number of proxy workers, ≥ 2. */
  count: number
  /** Workers open their own pool to the node's Postgres (the node has a database). */
  database?: boolean
  /** How long workers may drain on close before they are killed; 10 s by default. */
  drainMs?: number
}

interface Report {
  pid: number
  stats: ProxyStats
  metrics: MetricsDump | null
}

interface Slot {
  worker: Worker
  pid: number
  bornAt: number
  /** Said hello: it has been sent (or is being sent) every configuration since. */
  fed: boolean
  listening: boolean
  /** Latest configuration version it applied. */
  version: number
  pending: Map<number, (r: Report | null) => void>
}

interface Waiter {
  version: number
  resolve(): void
  reject(err: Error): void
}

const WORKER_MAIN = fileURLToPath(new URL('./worker-main.js', import.meta.url))
const REPORT_TIMEOUT_MS = 2000

export function createWorkerPool(opts: PoolOptions): ProxyHost {
  return new WorkerPool(opts)
}

class WorkerPool implements ProxyHost {
  private readonly log: Logger
  private readonly slots = new Map<Worker, Slot>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private current = {version: 0, entities: {} as EntityArrays}
  /** The primary's own build of the current config: validates it, and feeds /metrics' gauges. */
  private snapshot = emptySnapshot()
  private waiters: Waiter[] = []
  private starting: {resolve(): void; reject(err: Error): void} | null = null
  private closing: Promise<void> | null = null
  private allGone: (() => void) | null = null
  private nextReport = 0

  constructor(private readonly opts: PoolOptions) {
    this.log = opts.log.child({subsystem: 'workers'})
  }

  async apply(entities: EntityArrays, built?: ProxySnapshot): Promise<void> {
    this.snapshot = built ?? buildSnapshot(entities)
    const version = this.current.version + 1
    this.current = {version, entities}
    for (const slot of this.slots.values()) if (slot.fed) this.post(slot, {type: 'config', version, entities})
    await new Promise<void>((resolve, reject) => {
      this.waiters.push({version, resolve, reject})
      this.settle()
    })
  }

  listen(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.starting = {resolve, reject}
      for (let i = 0; i < this.opts.count; i++) this.fork()
    })
  }

  notReady(): string | null {
    const serving = [...this.slots.values()].filter((s) => s.listening && s.version >= this.current.version).length
    return serving === this.opts.count ? null : `${serving} of ${this.opts.count} proxy workers serve the current configuration`
  }

  async stats(): Promise<HostStats> {
    const workers: WorkerStats[] = (await this.collect()).map((r) => ({pid: r.pid, ...r.stats}))
    const sum = (k: keyof ProxyStats) => workers.reduce((a, w) => a + w[k], 0)
    return {
      connections_active: sum('connections_active'),
      connections_accepted: sum('connections_accepted'),
      total_requests: sum('total_requests'),
      requests_in_flight: sum('requests_in_flight'),
      workers,
    }
  }

  /**
   * Each worker runs its own health checks (probes and passive counters) and balances by
   * its own view: there is no one answer for the node, so the Admin API says so.
   */
  health(): HealthView {
    const n = this.opts.count
    return {unavailable: `target health is kept by each of the ${n} proxy worker processes (node_worker_processes = ${n}), each with its own view; set node_worker_processes = 1 to read or set it through the Admin API`}
  }

  async metrics(node?: NodeGauges): Promise<string> {
    const merged = new Metrics()
    for (const r of await this.collect()) if (r.metrics) merged.add(r.metrics)
    // Targets of upstreams with checks on are left out: each worker has its own view (see health()).
    const off = new Set(this.snapshot.upstreams.filter((u) => !checksOn(u.upstream)).map((u) => u.upstream.id))
    return renderMetrics(merged, this.snapshot, (u) => (off.has(u) ? 'HEALTHCHECKS_OFF' : undefined), node)
  }

  close(): Promise<void> {
    return (this.closing ??= new Promise<void>((resolve) => {
      for (const t of this.timers) clearTimeout(t)
      this.starting?.reject(new Error('stopped while starting'))
      this.starting = null
      for (const w of this.waiters) w.resolve()
      this.waiters = []
      if (this.slots.size === 0) return resolve()
      const kill = setTimeout(() => {
        for (const s of this.slots.values()) s.worker.process.kill('SIGKILL')
      }, (this.opts.drainMs ?? 10_000) + 2000)
      this.allGone = () => {
        clearTimeout(kill)
        resolve()
      }
      for (const s of this.slots.values()) if (!this.post(s, {type: 'drain'})) s.worker.process.kill('SIGTERM')
    }))
  }

  private fork(): void {
    cluster.setupPrimary({exec: WORKER_MAIN, args: [], silent: false})
    const worker = cluster.fork()
    const slot: Slot = {worker, pid: worker.process.pid ?? 0, bornAt: Date.now(), fed: false, listening: false, version: -1, pending: new Map()}
    this.slots.set(worker, slot)
    worker.on('message', (msg: FromWorker) => this.onMessage(slot, msg))
    worker.on('exit', (code, signal) => this.onExit(slot, code, signal))
    // Sends to a worker that just died fail here; its exit is handled in onExit.
    worker.on('error', (err) => this.log.debug(`proxy worker ${slot.pid}: ${err.message}`))
  }

  private post(slot: Slot, msg: ToWorker): boolean {
    if (!slot.worker.isConnected()) return false
    slot.worker.send(msg)
    return true
  }

  /** Resolves what waits on the workers' progress; called on every change of it. */
  private settle(): void {
    const fed = [...this.slots.values()].filter((s) => s.fed)
    this.waiters = this.waiters.filter((w) => {
      if (!fed.every((s) => s.version >= w.version)) return true
      w.resolve()
      return false
    })
    if (this.starting && this.slots.size === this.opts.count && [...this.slots.values()].every((s) => s.listening)) {
      this.starting.resolve()
      this.starting = null
    }
  }

  private onMessage(slot: Slot, msg: FromWorker): void {
    switch (msg.type) {
      case 'hello':
        slot.fed = true
        this.post(slot, {type: 'init', conf: this.opts.conf, database: this.opts.database === true})
        this.post(slot, {type: 'config', version: this.current.version, entities: this.current.entities})
        return
      case 'applied':
        slot.version = msg.version
        return this.settle()
      case 'apply-failed':
        this.log.error(`proxy worker ${slot.pid} could not apply configuration ${msg.version}: ${msg.message}`)
        this.waiters = this.waiters.filter((w) => (w.version === msg.version ? (w.reject(new Error(msg.message)), false) : true))
        return
      case 'listening':
        slot.listening = true
        this.log.info(`proxy worker ${slot.pid} serving configuration ${slot.version}`)
        return this.settle()
      case 'failed':
        this.starting?.reject(new Error(msg.message))
        this.starting = null
        return
      case 'report':
        return slot.pending.get(msg.id)?.({pid: slot.pid, stats: msg.stats, metrics: msg.metrics})
    }
  }

  private onExit(slot: Slot, code: number | null, signal: string | null): void {
    this.slots.delete(slot.worker)
    for (const done of slot.pending.values()) done(null)
    const reason = signal ? `killed by ${signal}` : `exit code ${code}`
    if (this.closing) {
      if (this.slots.size === 0) this.allGone?.()
      return
    }
    if (this.starting) {
      this.starting.reject(new Error(`proxy worker ${slot.pid} exited during start (${reason})`))
      this.starting = null
    } else {
      this.log.error(`proxy worker ${slot.pid} exited (${reason}); starting a new one`)
      const timer = setTimeout(() => {
        this.timers.delete(timer)
        if (!this.closing) this.fork()
      }, Date.now() - slot.bornAt < 1000 ? 1000 : 0)
      this.timers.add(timer)
    }
    this.settle()
  }

  private ask(slot: Slot): Promise<Report | null> {
    return new Promise((resolve) => {
      const id = ++this.nextReport
      const done = (r: Report | null) => {
        clearTimeout(timer)
        slot.pending.delete(id)
        resolve(r)
      }
      const timer = setTimeout(() => done(null), REPORT_TIMEOUT_MS)
      slot.pending.set(id, done)
      if (!this.post(slot, {type: 'report', id})) done(null)
    })
  }

  /** Every listening worker's report; one that does not answer in time is left out. */
  private async collect(): Promise<Report[]> {
    const reports = await Promise.all([...this.slots.values()].filter((s) => s.listening).map((s) => this.ask(s)))
    return reports.filter((r): r is Report => r !== null)
  }
}
