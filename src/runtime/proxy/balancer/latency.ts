/**
 * Kong's `latency` algorithm picks the peer with the lowest EWMA of response times. Not
 * implemented yet: such an upstream balances by weight, as `round-robin` does (README,
 * "Not there yet"). Its own file so that the EWMA lands here, beside the other algorithms.
 */
import {weightedRoundRobin} from './round-robin.js'
import type {Balancer, Peer, Upstream} from './types.js'

export function latency(upstream: Upstream, peers: Peer[]): Balancer {
  return weightedRoundRobin(upstream, peers)
}
