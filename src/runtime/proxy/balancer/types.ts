/**
 * What every balancing algorithm shares: the peer it picks, the per-request context it may
 * read, and the interface the dispatcher calls. Imports only the entity types; each algorithm imports this.
 *
 * The interface is small so that the algorithms slot in beside each other:
 * consistent-hashing needs `ctx.hashKey`, least-connections needs `release`.
 */
import type {Entity} from '../../schema/registry.js'

export type Upstream = Entity<'upstreams'>
export type Target = Entity<'targets'>

export interface Peer {
  host: string
  port: number
  weight: number
  /** The target's address as configured (`host:port`): how health checks know it. */
  key?: string
  /** The target entity, when the peer comes from an upstream. */
  target?: Target
}

export interface BalanceContext {
  /** What consistent hashing would hash on (client ip, header, …), when computed. */
  hashKey?: string
}

export interface Balancer {
  readonly upstream: Upstream
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

/** Whether a peer is unhealthy; `down` is empty for upstreams without health checks. */
export const isDown = (peer: Peer, down: ReadonlySet<string> | undefined): boolean =>
  down !== undefined && down.size > 0 && down.has(peer.key!)
