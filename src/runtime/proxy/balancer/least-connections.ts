/**
 * Least-connections (Kong's `least-connections`): the peer with the lowest
 * (in-flight tries + 1) / weight. The `+ 1` makes an idle balancer start on the heaviest
 * peer instead of whichever comes first; ties go to the earlier target. A try is in
 * flight from `pick` to `release`, which the dispatcher calls when the try fails or when
 * the response body has ended (or was abandoned). Weight 0 peers and unhealthy (`down`)
 * peers are never chosen.
 *
 * A linear scan, not Kong's binary heap: upstreams have a handful of targets.
 */
import {isDown, type Balancer, type Peer, type Upstream} from './types.js'

export function leastConnections(upstream: Upstream, all: Peer[]): Balancer {
  const peers = all.filter((p) => p.weight > 0)
  const inFlight = new Array<number>(peers.length).fill(0)
  const index = new Map<Peer, number>(peers.map((p, i) => [p, i]))
  return {
    upstream,
    pick(_ctx, exclude, down) {
      let best = -1
      let bestScore = Infinity
      let fallback = -1
      let fallbackScore = Infinity
      for (let i = 0; i < peers.length; i++) {
        if (isDown(peers[i], down)) continue
        const score = (inFlight[i] + 1) / peers[i].weight
        if (score < fallbackScore) {
          fallback = i
          fallbackScore = score
        }
        if (exclude?.has(peers[i])) continue
        if (score < bestScore) {
          best = i
          bestScore = score
        }
      }
      // every peer already failed for this request: start over with the least loaded
      if (best < 0) best = fallback
      if (best < 0) return null
      inFlight[best]++
      return peers[best]
    },
    release(peer) {
      const i = index.get(peer)
      if (i !== undefined && inFlight[i] > 0) inFlight[i]--
    },
  }
}
