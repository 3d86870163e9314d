/**
 * Balancers pick the peer for one try. One balancer per upstream, built with the snapshot;
 * its state (round-robin position, connection counts) lives as long as the snapshot.
 *
 * The interface is small so that the algorithms slot in beside each other:
 * consistent-hashing needs `ctx.hashKey`, least-connections needs `release`.
 */
import {consistentHashing} from './consistent-hashing.js'
import {leastConnections} from './least-connections.js'
import {weightedRoundRobin} from './round-robin.js'

export interface Peer {
  host: string
  port: number
  weight: number
  /** The target's address as configured (`host:port`): how health checks know it. */
  key?: string
  /** The target entity, when the peer comes from an upstream. */
  target?: any
}

export interface BalanceContext {
  /** What consistent hashing would hash on (client ip, header, …), when computed. */
  hashKey?: string
}

export interface Balancer {
  readonly upstream: any
  /** Reads `ctx.hashKey`: the dispatcher computes it (per request) only when set. */
  readonly hashed?: boolean
  /**
   * Next peer for a try, avoiding `exclude` (peers that already failed for this request)
   * while others remain, and never a peer whose key is in `down` (unhealthy targets).
   * Null when no peer can take traffic (no targets, all weight 0, all down): the proxy
   * answers 503 "failure to get a peer from the ring-balancer".
   */
  pick(ctx: BalanceContext, exclude?: ReadonlySet<Peer>, down?: ReadonlySet<string>): Peer | null
  /**
   * A try is over: called once per picked peer, when the try failed or when its response
   * body has ended or been dropped. For least-connections (and passive health checks).
   */
  release?(peer: Peer, failed: boolean): void
}

/** Throws on an algorithm we do not implement yet, so the caller keeps its old config. */
export function createBalancer(upstream: any, targets: any[]): Balancer {
  const peers = targets.map((t) => ({...parseTarget(t.target), weight: t.weight ?? 100, key: t.target, target: t}))
  switch (upstream.algorithm ?? 'round-robin') {
    case 'least-connections':
      return leastConnections(upstream, peers)
    case 'consistent-hashing':
      // hash_on none: nothing to hash, weighted round-robin (as Kong)
      if ((upstream.hash_on ?? 'none') === 'none') return weightedRoundRobin(upstream, peers)
      return consistentHashing(upstream, peers)
    case 'round-robin':
    // Kong's `latency` (EWMA of response times) is not implemented: weighted round-robin.
    case 'latency':
      return weightedRoundRobin(upstream, peers)
    default:
      throw new Error(`upstream ${upstream.name}: unknown algorithm '${upstream.algorithm}'`)
  }
}

/** Whether a peer is unhealthy; `down` is empty for upstreams without health checks. */
export const isDown = (peer: Peer, down: ReadonlySet<string> | undefined): boolean =>
  down !== undefined && down.size > 0 && down.has(peer.key!)

/** `host:port`, `[v6]:port`, or a bare host (port 8000, Kong's default). */
export function parseTarget(target: string): {host: string; port: number} {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(target) ?? /^([^:]+)(?::(\d+))?$/.exec(target)
  if (!m) return {host: target, port: 8000}
  return {host: m[1], port: m[2] ? Number(m[2]) : 8000}
}
