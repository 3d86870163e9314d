/**
 * Active health checks of one upstream: every `healthy.interval` seconds the targets
 * that are healthy now are probed, every `unhealthy.interval` seconds the unhealthy
 * ones (an interval of 0 leaves that group alone), at most `concurrency` probes at a
 * time. Each round starts `interval` after the previous one ended, so rounds never
 * overlap. Timers are unref'd (they never keep a process alive); `stop()` clears them
 * and destroys the probes in flight.
 */
import type {LookupFunction, Socket} from 'node:net'
import {probe, type ProbeResult, type ProbeSpec} from './probe.js'
import type {Upstream} from '../balancer/index.js'

/** What the checker probes: the registry's live view of the upstream's targets. */
export interface ActiveTarget {
  key: string
  host: string
  port: number
  healthy: boolean
  weight: number
}

export interface ActiveHost {
  /** Resolves target names (kong.conf `dns_*`). */
  lookup?: LookupFunction
  targets(): Iterable<ActiveTarget>
  report(key: string, result: ProbeResult): void
}

/** The active check settings: a checker is only made for an upstream that has them. */
const activeOf = (u: Upstream) => u.healthchecks!.active!

export class ActiveChecker {
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly sockets = new Set<Socket>()
  private stopped = false

  constructor(private readonly upstream: Upstream, private readonly host: ActiveHost) {
    const a = activeOf(upstream)
    this.schedule(true, a.healthy?.interval ?? 0)
    this.schedule(false, a.unhealthy?.interval ?? 0)
  }

  stop(): void {
    this.stopped = true
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    for (const s of this.sockets) s.destroy()
    this.sockets.clear()
  }

  private schedule(healthy: boolean, seconds: number): void {
    if (this.stopped || !(seconds > 0)) return
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      void this.round(healthy).finally(() => this.schedule(healthy, seconds))
    }, seconds * 1000)
    timer.unref()
    this.timers.add(timer)
  }

  private async round(healthy: boolean): Promise<void> {
    // weight 0 targets take no traffic, and Kong does not check them
    const due = [...this.host.targets()].filter((t) => t.healthy === healthy && t.weight > 0)
    const workers = Math.min(due.length, activeOf(this.upstream).concurrency ?? 10)
    let next = 0
    const work = async () => {
      while (!this.stopped && next < due.length) {
        const t = due[next++]
        const result = await probe(this.spec(t), (s) => this.track(s))
        if (!this.stopped) this.host.report(t.key, result)
      }
    }
    await Promise.all(Array.from({length: workers}, work))
  }

  private track(s: Socket): () => void {
    this.sockets.add(s)
    return () => this.sockets.delete(s)
  }

  private spec(t: ActiveTarget): ProbeSpec {
    const a = activeOf(this.upstream)
    return {
      type: a.type ?? 'http',
      host: t.host,
      port: t.port,
      timeout: (a.timeout ?? 1) * 1000,
      path: a.http_path ?? '/',
      hostHeader: this.upstream.host_header ?? (t.host.includes(':') ? `[${t.host}]` : t.host),
      sni: a.https_sni ?? undefined,
      verify: a.https_verify_certificate !== false,
      headers: a.headers ?? null,
      lookup: this.host.lookup,
    }
  }
}
