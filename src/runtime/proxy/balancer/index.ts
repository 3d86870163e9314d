/**
 * The balancers (Kong's `runloop/balancer/`): they pick the peer for one try. One balancer
 * per upstream, built with the snapshot; its state (round-robin position, connection
 * counts) lives as long as the snapshot.
 *
 *   index.ts                picks the algorithm for an upstream (`createBalancer`)
 *   types.ts                Peer, BalanceContext, the Balancer interface, isDown
 *   targets.ts              a target's `host:port` (parseTarget)
 *   round-robin.ts          weighted round-robin (also `consistent-hashing` with hash_on none)
 *   least-connections.ts    fewest tries in flight per weight
 *   consistent-hashing.ts   a ring over the upstream's slots
 *   latency.ts              Kong's `latency`: lowest EWMA of response times per weight
 *
 * Imports: the algorithms import only types.ts; only this
 * index knows them all. Nothing here imports the rest of the runtime: the dispatcher computes
 * what a request hashes on (../hash-input.ts) and passes it in `BalanceContext`. Code outside
 * this folder imports this index only.
 */
import {consistentHashing} from './consistent-hashing.js'
import {latency} from './latency.js'
import {leastConnections} from './least-connections.js'
import {weightedRoundRobin} from './round-robin.js'
import {parseTarget} from './targets.js'
import type {Balancer, Target, Upstream} from './types.js'

export {parseTarget} from './targets.js'
export {isDown, type BalanceContext, type Balancer, type Peer, type Target, type Upstream} from './types.js'

/** Throws on an algorithm we do not implement yet, so the caller keeps its old config. */
export function createBalancer(upstream: Upstream, targets: readonly Target[]): Balancer {
  const peers = targets.map((t) => ({...parseTarget(t.target), weight: t.weight ?? 100, key: t.target, target: t}))
  switch (upstream.algorithm ?? 'round-robin') {
    case 'least-connections':
      return leastConnections(upstream, peers)
    case 'consistent-hashing':
      // hash_on none: nothing to hash, weighted round-robin (as Kong)
      if ((upstream.hash_on ?? 'none') === 'none') return weightedRoundRobin(upstream, peers)
      return consistentHashing(upstream, peers)
    case 'round-robin':
      return weightedRoundRobin(upstream, peers)
    case 'latency':
      return latency(upstream, peers)
    default:
      throw new Error(`upstream ${upstream.name}: unknown algorithm '${upstream.algorithm}'`)
  }
}
