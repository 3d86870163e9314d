/**
 * Consistent hashing, as Kong's `runloop/balancer/consistent_hashing.lua` (Ketama): a
 * ring (continuum) of the upstream's `slots` points (between 1000 and 2^32, else 1000,
 * as Kong's wheel size). Targets are sorted by name, then port; each claims
 * floor(weight / total weight × targets × 160) points (at least 1 when its weight is
 * not 0), hashing `<host>::<port> <i>` for i = 1, 2, … with xxHash32 (seed 0) — the
 * doubled colon is Kong's own, kept so that the ring is the same. A point already
 * claimed is left to the earlier claim and the target hashes one more i instead.
 *
 * A request's hash input (ctx.hashKey, see ../hash-input.ts) hashes to a point
 * (xxhash32 % slots + 1) and goes to the target claiming it, or to the first claimed
 * point going down the ring: a key lands on the same target as in Kong for the same
 * targets. Kong hashes a target's resolved address; kctl hashes the host as written
 * (an IP target is the same in both).
 *
 * A retry walks on down the ring past targets that already failed for the request, and
 * past unhealthy (`down`) ones, so only their keys move while they are down. Weight 0
 * targets claim nothing.
 */
import xxhash from 'xxhashjs'
import {isDown, type Balancer, type Peer, type Upstream} from './types.js'

const SERVER_POINTS = 160
const MIN_CONTINUUM_SIZE = 1000
const MAX_CONTINUUM_SIZE = 2 ** 32
const DEFAULT_CONTINUUM_SIZE = 1000

/** xxHash32 of the string's UTF-8 bytes, seed 0 (Kong's `luaxxhash`). */
export const xxhash32 = (s: string): number => xxhash.h32(s, 0).toNumber()

/** Kong's `get_continuum_index`: a 1-based point on a ring of `points`. */
export const continuumIndex = (value: string, points: number): number => (xxhash32(value) % points) + 1

/** Kong's wheel size for an upstream's `slots`. */
export const continuumSize = (slots: number | null | undefined): number =>
  slots !== null && slots !== undefined && slots >= MIN_CONTINUUM_SIZE && slots <= MAX_CONTINUUM_SIZE ? slots : DEFAULT_CONTINUUM_SIZE

/**
 * The continuum as Kong builds it: `claims[index - 1]` is the position in `peers` of the
 * target claiming 1-based point `index`, or -1. `peers` must be sorted (sortPeers).
 */
export function buildContinuum(peers: readonly Peer[], points: number): Int32Array {
  const claims = new Int32Array(points).fill(-1)
  const total = peers.reduce((s, p) => s + p.weight, 0)
  const targets = peers.length
  peers.forEach((p, at) => {
    let entries = Math.floor((p.weight / total) * targets * SERVER_POINTS)
    if (p.weight > 0 && entries === 0) entries = 1
    for (let i = 1; i <= entries; i++) {
      const index = continuumIndex(`${p.host}::${p.port} ${i}`, points)
      if (claims[index - 1] < 0) claims[index - 1] = at
      else entries++ // move the problem forward (Kong's words)
      // only with an awful amount of low-weight targets: Kong gives up on the update
      if (i > points) throw new Error(`consistent hashing needs more points than the ${points} slots of upstream: raise its slots`)
    }
  })
  return claims
}

/** Kong's order: by name, then port (a name given twice sorts by port). */
export const sortPeers = (peers: readonly Peer[]): Peer[] =>
  [...peers].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : a.port - b.port))

export function consistentHashing(upstream: Upstream, all: Peer[]): Balancer {
  // weight 0 targets claim no point but count among the targets, as in Kong
  const peers = sortPeers(all)
  const size = continuumSize(upstream.slots)
  const claims = peers.some((p) => p.weight > 0) ? buildContinuum(peers, size) : new Int32Array(size).fill(-1)
  // owner[slot]: the peer at the first claimed point at or below `slot`, wrapping
  const owner = new Int32Array(size).fill(-1)
  let last = -1
  for (let s = size - 1; s >= 0 && last < 0; s--) last = claims[s]
  for (let s = 0; s < size; s++) {
    if (claims[s] >= 0) last = claims[s]
    owner[s] = last
  }
  return {
    upstream,
    hashed: true,
    pick(ctx, exclude, down) {
      if (owner[0] < 0) return null
      const start = continuumIndex(ctx.hashKey ?? '', size) - 1
      const first = peers[owner[start]]
      const healthy = !isDown(first, down)
      if (healthy && (!exclude || exclude.size === 0 || !exclude.has(first))) return first
      for (let k = 1; k < size; k++) {
        const c = claims[(start - k + size) % size]
        if (c >= 0 && !isDown(peers[c], down) && !exclude?.has(peers[c])) return peers[c]
      }
      if (healthy) return first // every peer failed for this request: back to its own
      // every healthy peer failed for this request: the next healthy one down the ring
      for (let k = 1; k < size; k++) {
        const c = claims[(start - k + size) % size]
        if (c >= 0 && !isDown(peers[c], down)) return peers[c]
      }
      return null
    },
  }
}
