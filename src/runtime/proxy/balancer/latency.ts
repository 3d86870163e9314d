/**
 * Latency (Kong's `runloop/balancer/latency.lua`): the peer with the lowest
 * EWMA(response time) / weight. Each answered try updates its peer's EWMA with its
 * round-trip time rtt (seconds, from the pick to the end of the response body, as Kong's
 * upstream connect + response time):
 *
 *   w    = exp(-(now - last update) / 10 s)        (Kong's DECAY_TIME)
 *   ewma = ewma × w + rtt × (1 - w)
 *
 * and a pick scores each candidate with its EWMA decayed to now (rtt 0), so a peer not
 * used for a while drifts back towards 0 and gets tried again. A new peer starts at the
 * average of the others (Kong's slow start; all start at 0). The EWMAs outlive a
 * configuration change (they are kept per upstream id, per process, as Kong keeps them
 * per worker), dropping the peers that left. Failed tries do not update the EWMA. Weight
 * 0 and unhealthy (`down`) peers are never chosen; when every peer already failed for
 * the request, the pick starts over with the best one.
 */
import {isDown, type Balancer, type Peer, type Upstream} from './types.js'

const DECAY_TIME = 10

interface Ewma {
  value: number
  at: number
}

/** Per upstream id: the EWMA of each peer (by `host:port`). */
const memory = new Map<string, Map<string, Ewma>>()

const nowSeconds = () => performance.now() / 1000
const keyOf = (p: Peer) => p.key ?? `${p.host}:${p.port}`

/** Kong's decay_ewma. */
export function decayEwma(ewma: number, lastTouchedAt: number, rtt: number, now: number): number {
  const td = Math.max(now - lastTouchedAt, 0)
  const weight = Math.exp(-td / DECAY_TIME)
  return ewma * weight + rtt * (1 - weight)
}

/** The latency balancer; `observe` is Kong's afterBalance: a try to `peer` took `rtt` seconds. */
export interface LatencyBalancer extends Balancer {
  observe(peer: Peer, rtt: number): void
}

export function latency(upstream: Upstream, all: Peer[], clock: () => number = nowSeconds): LatencyBalancer {
  const peers = all.filter((p) => p.weight > 0)
  const previous = memory.get(upstream.id) ?? new Map<string, Ewma>()
  const ewma = new Map<string, Ewma>()
  for (const p of peers) {
    const e = previous.get(keyOf(p))
    if (e) ewma.set(keyOf(p), e)
  }
  // slow start: the average over every peer, the new ones counting as 0 (Kong's calculation)
  const now = clock()
  const start = peers.length ? [...ewma.values()].reduce((s, e) => s + e.value, 0) / peers.length : 0
  for (const p of peers) if (!ewma.has(keyOf(p))) ewma.set(keyOf(p), {value: start, at: now})
  memory.set(upstream.id, ewma)
  /** A try in flight: the peer object handed out for it, and when. */
  const started = new WeakMap<Peer, {peer: Peer; at: number}>()
  const score = (p: Peer, t: number) => {
    const e = ewma.get(keyOf(p))!
    return decayEwma(e.value, e.at, 0, t) / p.weight
  }
  const observe = (peer: Peer, rtt: number) => {
    const e = ewma.get(keyOf(peer))
    if (!e) return
    const t = clock()
    e.value = decayEwma(e.value, e.at, rtt, t)
    e.at = t
  }
  return {
    upstream,
    observe,
    pick(_ctx, exclude, down) {
      const failed = exclude && exclude.size ? new Set([...exclude].map(keyOf)) : null
      const t = clock()
      let best: Peer | null = null
      let bestScore = Infinity
      let fallback: Peer | null = null
      let fallbackScore = Infinity
      for (const p of peers) {
        if (isDown(p, down)) continue
        const s = score(p, t)
        if (s < fallbackScore) [fallback, fallbackScore] = [p, s]
        if (failed?.has(keyOf(p))) continue
        if (s < bestScore) [best, bestScore] = [p, s]
      }
      const chosen = best ?? fallback
      if (!chosen) return null
      // a copy per try, so that release() knows which try ended
      const handed = {...chosen}
      started.set(handed, {peer: chosen, at: t})
      return handed
    },
    release(handed, failedTry) {
      const s = started.get(handed)
      if (!s) return
      started.delete(handed)
      if (!failedTry) observe(s.peer, clock() - s.at)
    },
  }
}
