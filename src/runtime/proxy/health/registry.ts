/**
 * The health of every target this proxy balances over, and the active checkers.
 *
 * Keyed by upstream id and target address (`host:port`), not by snapshot objects:
 * snapshots are rebuilt on every config change and the health of a target must not
 * reset with them. `sync()` (on every swap) adds what is new, forgets what is gone,
 * starts over for a target whose entity was deleted and added again (another id), and
 * restarts an upstream's active checker only when its settings changed.
 *
 *   swap(snapshot) ─► sync ─► per upstream: targets' TargetHealth, down set, checker
 *   request ─► of(upstream id) ─► balancer skips `down`; 503 when not `available`
 *   try over ─► passive(outcome)          probe over ─► active(outcome)
 *                         └──► TargetHealth.report ─► down set, availability
 *
 * Target names are resolved when a target appears (Kong builds a balancer's addresses
 * from DNS at once) and again once their answer's TTL is over (checked every second, a
 * few queries at a time): a name that does not resolve is a DNS_ERROR before any
 * traffic, and stops being one when it resolves again or a connection to it succeeds.
 * The proxy itself still connects to the target by name, through the same resolver.
 *
 * One registry per proxy process: with several worker processes each has its own.
 */
import {parseTarget, type Target, type Upstream} from '../balancer/index.js'
import {NameResolver, type Resolution} from '../dns.js'
import {ActiveChecker, type ActiveTarget} from './active.js'
import type {ProbeResult} from './probe.js'
import {checksOn, thresholds, type Thresholds} from './settings.js'
import {TargetHealth, type Outcome} from './target-health.js'

/** What the proxy reads per request; one object per upstream, updated in place. */
export interface UpstreamHealth {
  /** Health checks are on (Kong: otherwise every target reports HEALTHCHECKS_OFF). */
  readonly on: boolean
  /** Addresses (`host:port`) of the targets that take no traffic now. */
  readonly down: ReadonlySet<string>
  /**
   * Kong's balancer health: the healthy share of the weight is above
   * `healthchecks.threshold` percent (and there is weight at all). When false the proxy
   * answers 503 without trying.
   */
  readonly available: boolean
}

export type Health = 'HEALTHY' | 'UNHEALTHY' | 'HEALTHCHECKS_OFF' | 'DNS_ERROR'

interface Entry extends UpstreamHealth {
  upstream: Upstream
  on: boolean
  down: Set<string>
  available: boolean
  targets: Map<string, TargetHealth>
  passive: Thresholds
  active: Thresholds
  checker: ActiveChecker | null
  /** The settings the checker runs with; a change restarts it. */
  checkerKey: string
}

export interface BalancerStatus {
  on: boolean
  /** See UpstreamHealth.available. */
  available: boolean
  total: number
  unavailable: number
  targets: Array<{key: string; weight: number; available: boolean}>
}

export interface UpstreamConfig {
  upstream: Upstream
  targets: readonly Target[]
}

export class HealthRegistry {
  private readonly entries = new Map<string, Entry>()
  private closed = false
  private synced: Iterable<UpstreamConfig> | null = null

  private readonly refresher: NodeJS.Timeout
  /** Name queries in flight, and those waiting for one of the MAX_LOOKUPS places. */
  private lookups = 0
  private readonly waiting: Array<() => void> = []

  constructor(private readonly dns: NameResolver = new NameResolver()) {
    this.refresher = setInterval(() => this.resolveDue(), REFRESH_MS).unref()
  }

  /** Makes the registry follow a new configuration (see the file comment). */
  sync(upstreams: Iterable<UpstreamConfig>): void {
    // a snapshot that kept the previous one's upstreams (a change to other kinds): nothing to do
    if (this.closed || upstreams === this.synced) return
    this.synced = upstreams
    const seen = new Set<string>()
    for (const {upstream, targets} of upstreams) {
      seen.add(upstream.id)
      const e = this.entry(upstream)
      const keep = new Set<string>()
      for (const t of targets) {
        keep.add(t.target)
        const h = e.targets.get(t.target)
        if (h && h.targetId === t.id) h.weight = t.weight ?? 100
        else e.targets.set(t.target, new TargetHealth(t.id, t.weight ?? 100))
      }
      for (const key of e.targets.keys()) if (!keep.has(key)) e.targets.delete(key)
      this.refresh(e)
      this.restartChecker(e)
    }
    for (const [id, e] of this.entries) {
      if (seen.has(id)) continue
      e.checker?.stop()
      this.entries.delete(id)
    }
    this.resolveDue()
  }

  /** The upstream's health for the proxy; undefined when it is not configured. */
  of(upstreamId: string): UpstreamHealth | undefined {
    return this.entries.get(upstreamId)
  }

  /** A proxied try ended (Kong's passive checks, the circuit breaker). No-op with checks off. */
  passive(upstreamId: string, key: string, outcome: Outcome | {dns: true}): void {
    const e = this.entries.get(upstreamId)
    if (e?.on) this.apply(e, key, outcome, 'passive')
  }

  /**
   * Sets a target healthy or unhealthy by hand, clearing its counters (the Admin API).
   * @returns an error message (Kong's) when checks are off for the upstream, else null.
   */
  set(upstreamId: string, key: string, healthy: boolean): string | null {
    const e = this.entries.get(upstreamId)
    if (!e) return null
    if (!e.on) return `no healthchecker found for ${e.upstream.name}`
    const h = e.targets.get(key)
    if (h?.set(healthy)) this.refresh(e)
    return null
  }

  /** A target's health as the Admin API shows it; undefined when the proxy does not know it. */
  health(upstreamId: string, key: string): Health | undefined {
    const e = this.entries.get(upstreamId)
    const h = e?.targets.get(key)
    if (!e || !h) return undefined
    if (h.dnsError || (h.resolution !== null && 'error' in h.resolution)) return 'DNS_ERROR'
    // Kong checks no target of weight 0 (it takes no traffic)
    if (!e.on || h.weight === 0) return 'HEALTHCHECKS_OFF'
    return h.healthy ? 'HEALTHY' : 'UNHEALTHY'
  }

  /** What the target's name resolved to last; null before the first answer or when the proxy does not know it. */
  resolution(upstreamId: string, key: string): Resolution | null {
    return this.entries.get(upstreamId)?.targets.get(key)?.resolution ?? null
  }

  /** Resolves the names of the upstream's targets that have no answer, or an out-of-date one; done once every answer is in. */
  async resolve(upstreamId: string): Promise<void> {
    const e = this.entries.get(upstreamId)
    if (!e) return
    const now = Date.now()
    await Promise.all([...e.targets].filter(([, h]) => due(h, now)).map(([key, h]) => this.resolveTarget(e, key, h)))
  }

  /** Starts resolving every target name that has no answer or an out-of-date one. */
  private resolveDue(): void {
    const now = Date.now()
    for (const e of this.entries.values()) for (const [key, h] of e.targets) if (due(h, now) && !h.resolving) void this.resolveTarget(e, key, h)
  }

  /** One query per target at a time, at most MAX_LOOKUPS at once (the system's resolver shares libuv's threads with the proxy). */
  private resolveTarget(e: Entry, key: string, h: TargetHealth): Promise<void> {
    h.resolving ??= (async () => {
      if (this.lookups >= MAX_LOOKUPS) await new Promise<void>((r) => this.waiting.push(r))
      this.lookups++
      try {
        const r = await this.dns.resolve(parseTarget(key).host)
        const counted = addressCount(h.resolution)
        h.resolution = r
        // the name resolves now: an earlier try's DNS failure is over
        if (!('error' in r)) h.dnsError = false
        // as Kong's balancer adding or removing addresses: the weights (and the threshold) change
        if (addressCount(r) !== counted && this.entries.get(e.upstream.id) === e) this.refresh(e)
      } finally {
        this.lookups--
        this.waiting.shift()?.()
        h.resolving = null
      }
    })()
    return h.resolving
  }

  /** The upstream's balancer as Kong's status shows it; undefined when the proxy does not know it. */
  balancer(upstreamId: string): BalancerStatus | undefined {
    const e = this.entries.get(upstreamId)
    if (!e) return undefined
    const {total, unavailable} = weigh(e)
    const targets = [...e.targets].map(([key, h]) => ({key, weight: h.weight, available: !e.down.has(key)}))
    return {on: e.on, available: e.available, total, unavailable, targets}
  }

  /** Stops every active checker; the registry then ignores further syncs. */
  close(): void {
    this.closed = true
    clearInterval(this.refresher)
    for (const e of this.entries.values()) e.checker?.stop()
    this.entries.clear()
  }

  private entry(upstream: Upstream): Entry {
    let e = this.entries.get(upstream.id)
    const on = checksOn(upstream)
    if (!e) {
      e = {upstream, on, down: new Set(), available: false, targets: new Map(), passive: thresholds(upstream, 'passive'), active: thresholds(upstream, 'active'), checker: null, checkerKey: ''}
      this.entries.set(upstream.id, e)
      return e
    }
    // checks turned off: what was counted no longer means anything
    if (e.on && !on) for (const h of e.targets.values()) h.set(true)
    Object.assign(e, {upstream, on, passive: thresholds(upstream, 'passive'), active: thresholds(upstream, 'active')})
    return e
  }

  private apply(e: Entry, key: string, outcome: Outcome | {dns: true}, kind: 'active' | 'passive'): void {
    const h = e.targets.get(key)
    if (!h) return
    if ('dns' in outcome) h.dnsError = true
    else {
      // a connection to the name succeeded: a failed answer is out of date
      if (h.resolution !== null && 'error' in h.resolution) h.resolution = {...h.resolution, expires: 0}
      if (h.report(outcome, kind === 'active' ? e.active : e.passive, kind)) this.refresh(e)
    }
  }

  /** Recomputes the down set and the balancer's availability after a change. */
  private refresh(e: Entry): void {
    e.down.clear()
    if (e.on) for (const [key, h] of e.targets) if (!h.healthy) e.down.add(key)
    const {total, unavailable} = weigh(e)
    e.available = total > 0 && ((total - unavailable) / total) * 100 > threshold(e.upstream)
  }

  private restartChecker(e: Entry): void {
    const active = e.upstream.healthchecks?.active
    const runs = e.on && active && ((active.healthy?.interval ?? 0) > 0 || (active.unhealthy?.interval ?? 0) > 0)
    const key = runs ? JSON.stringify([active, e.upstream.host_header ?? null]) : ''
    if (key === e.checkerKey) return
    e.checker?.stop()
    e.checkerKey = key
    e.checker = runs
      ? new ActiveChecker(e.upstream, {
          lookup: this.dns.lookup,
          targets: () => activeTargets(e),
          report: (k, result: ProbeResult) => {
            if (this.entries.get(e.upstream.id) === e) this.apply(e, k, result, 'active')
          },
        })
      : null
  }
}

/** How often target names are checked for an out-of-date answer. */
const REFRESH_MS = 1000
/** Target name queries at once. */
const MAX_LOOKUPS = 4

const due = (h: TargetHealth, now: number) => h.resolution === null || h.resolution.expires <= now

function* activeTargets(e: Entry): Iterable<ActiveTarget> {
  for (const [key, h] of e.targets) yield {key, ...parseTarget(key), healthy: h.healthy, weight: h.weight}
}

/**
 * How many addresses a target's weight counts for: Kong's balancer holds one address per
 * record the target's name resolved to, each with the target's weight, so a target weighs
 * its weight times that (an IP address resolves to itself; a name that does not resolve
 * weighs nothing). Before its first answer a name counts as one: the proxy connects to it
 * by name meanwhile (the Admin API waits for the answer before it shows weights).
 */
export function addressCount(resolution: Resolution | null): number {
  if (resolution === null) return 1
  return 'error' in resolution ? 0 : resolution.addresses.length
}

/** Kong's `totalWeight` and `unavailableWeight` of a balancer: every address of every target. */
function weigh(e: Entry): {total: number; unavailable: number} {
  let total = 0
  let unavailable = 0
  for (const [key, h] of e.targets) {
    const weight = h.weight * addressCount(h.resolution)
    total += weight
    if (e.down.has(key)) unavailable += weight
  }
  return {total, unavailable}
}

const threshold = (upstream: Upstream): number => upstream.healthchecks?.threshold ?? 0
