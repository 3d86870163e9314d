/**
 * A string-keyed map that forks cheaply: its entries live in 256 shards, and a fork shares
 * them until it writes one, which it then copies (about 1/256 of the entries). An update
 * of a few keys in a map of 10,000 costs a few dozen entry copies instead of a whole copy
 * (copying a 10,000-entry Map costs milliseconds). Reads cost a small hash and two
 * lookups. The original never changes once forked from; only the fork is written.
 */
const SHARDS = 256

/** A cheap spread of route ids, prefixes and host names over the shards (not secure, need not be). */
function shardOf(key: string): number {
  const n = key.length
  if (n === 0) return 0
  return (n * 131 + key.charCodeAt(n - 1) * 31 + key.charCodeAt(n >> 1) * 7 + key.charCodeAt(n - 2 < 0 ? 0 : n - 2)) & (SHARDS - 1)
}

export class ShardedMap<V> {
  private shards: Array<Map<string, V> | undefined>
  /** Shards this instance may write: created here or copied since the fork. */
  private owned: Uint8Array
  size = 0

  constructor(from?: ShardedMap<V>) {
    this.shards = from ? from.shards.slice() : new Array(SHARDS)
    this.owned = new Uint8Array(SHARDS)
    if (from) this.size = from.size
  }

  /** A map with the same entries, written independently of this one. */
  fork(): ShardedMap<V> {
    return new ShardedMap(this)
  }

  get(key: string): V | undefined {
    return this.shards[shardOf(key)]?.get(key)
  }

  has(key: string): boolean {
    return this.shards[shardOf(key)]?.has(key) ?? false
  }

  set(key: string, value: V): this {
    const shard = this.writable(shardOf(key))
    const before = shard.size
    shard.set(key, value)
    this.size += shard.size - before
    return this
  }

  delete(key: string): boolean {
    const i = shardOf(key)
    if (!this.shards[i]?.has(key)) return false
    this.writable(i).delete(key)
    this.size--
    return true
  }

  *values(): IterableIterator<V> {
    for (const shard of this.shards) if (shard) yield* shard.values()
  }

  *entries(): IterableIterator<[string, V]> {
    for (const shard of this.shards) if (shard) yield* shard.entries()
  }

  private writable(i: number): Map<string, V> {
    let shard = this.shards[i]
    if (!this.owned[i]) {
      shard = shard ? new Map(shard) : new Map()
      this.shards[i] = shard
      this.owned[i] = 1
    }
    return shard!
  }
}
