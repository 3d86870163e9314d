/**
 * Smooth weighted round-robin (nginx's algorithm): over any window of sum(weights) picks,
 * each peer is chosen exactly `weight` times, interleaved rather than in bursts.
 * Weight 0 peers are never chosen.
 */
import type {Balancer, Peer} from './balancer.js'

export function weightedRoundRobin(upstream: any, all: Peer[]): Balancer {
  const peers = all.filter((p) => p.weight > 0)
  const current = new Array<number>(peers.length).fill(0)
  const total = peers.reduce((s, p) => s + p.weight, 0)
  return {
    upstream,
    pick(_ctx, exclude) {
      if (peers.length === 0) return null
      const avoid = exclude && exclude.size > 0 && peers.some((p) => !exclude.has(p)) ? exclude : undefined
      let best = -1
      for (let i = 0; i < peers.length; i++) {
        current[i] += peers[i].weight
        if (avoid?.has(peers[i])) continue
        if (best < 0 || current[i] > current[best]) best = i
      }
      current[best] -= total
      return peers[best]
    },
  }
}
