/**
 * Smooth weighted round-robin (nginx's algorithm): over any window of sum(weights) picks,
 * each peer is chosen exactly `weight` times, interleaved rather than in bursts.
 * Weight 0 peers are never chosen; unhealthy (`down`) peers are left out of the round
 * altogether, as nginx leaves out its down peers, so the others share their weight.
 */
import {isDown, type Balancer, type Peer, type Upstream} from './types.js'

export function weightedRoundRobin(upstream: Upstream, all: Peer[]): Balancer {
  const peers = all.filter((p) => p.weight > 0)
  const current = new Array<number>(peers.length).fill(0)
  return {
    upstream,
    pick(_ctx, exclude, down) {
      const avoid = exclude && exclude.size > 0 && peers.some((p) => !isDown(p, down) && !exclude.has(p)) ? exclude : undefined
      let best = -1
      let total = 0
      for (let i = 0; i < peers.length; i++) {
        if (isDown(peers[i], down)) continue
        current[i] += peers[i].weight
        total += peers[i].weight
        if (avoid?.has(peers[i])) continue
        if (best < 0 || current[i] > current[best]) best = i
      }
      if (best < 0) return null
      current[best] -= total
      return peers[best]
    },
  }
}
