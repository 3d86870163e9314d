/**
 * Consistent hashing (Kong's `consistent-hashing`, a Ketama-style ring): the upstream's
 * `slots` (at least 1000, as Kong) positions on a ring; each peer claims
 * floor(weight / total weight × peers × 160) of them, hashing `host:port i` for
 * i = 1, 2, …. A request's hash input (ctx.hashKey, see ../hash-input.ts) hashes to a
 * position and goes to the peer claiming it, or to the first claimed position going
 * down the ring.
 *
 * Peers claim in `host:port` order and a position already claimed stays with the
 * earlier claim (Kong instead moves the colliding point on). So removing a target frees
 * only its own positions: its keys move, everyone else's stay put; adding one takes
 * about 1/N of the keys. A retry walks on down the ring past peers that already failed
 * for the request, and past unhealthy (`down`) peers, so only their keys move while they
 * are down. Weight 0 peers claim nothing.
 */
import {isDown, type Balancer, type Peer, type Upstream} from './types.js'

const POINTS_PER_PEER = 160
const MIN_SLOTS = 1000

export function consistentHashing(upstream: Upstream, all: Peer[]): Balancer {
  const peers = all.filter((p) => p.weight > 0).sort((a, b) => compare(key(a), key(b)))
  const size = Math.max(MIN_SLOTS, upstream.slots ?? 10000)
  const claims = new Int32Array(size).fill(-1)
  const total = peers.reduce((s, p) => s + p.weight, 0)
  const wanted = peers.map((p) => Math.max(1, Math.floor((p.weight / total) * peers.length * POINTS_PER_PEER)))
  const sum = wanted.reduce((s, n) => s + n, 0)
  // more points than slots (over ~60 equal targets on the default 10000): scale down
  const scale = sum > size ? size / sum : 1
  peers.forEach((p, i) => {
    const points = Math.max(1, Math.floor(wanted[i] * scale))
    for (let j = 1; j <= points; j++) {
      const slot = hash32(`${key(p)} ${j}`) % size
      if (claims[slot] < 0) claims[slot] = i
    }
  })
  // owner[slot]: the peer at the first claimed position at or below `slot`, wrapping
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
      if (peers.length === 0) return null
      const start = hash32(ctx.hashKey ?? '') % size
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

const key = (p: Peer) => `${p.host}:${p.port}`
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** 32-bit FNV-1a over the UTF-16 code units, then murmur3's finalizer to spread the bits. */
export function hash32(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
