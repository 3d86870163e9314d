/**
 * A set of the objects in play (responses in flight, open connections) for a long-lived
 * owner, which adds and removes one per request or per connection. A `Set` would do the
 * same, but on Node 20's V8 a long-lived `Set` with that churn keeps removed entries
 * reachable from its old tables until a full GC: under a fixed load at 3,000 req/s, the
 * proxy's in-flight `Set` made a quarter of everything it allocated survive into the old
 * generation, with scavenges of 15 ms and a p99 twice the Node peers' (bench/gc-promotion.js).
 *
 * Here the entries are a doubly linked list. `add` gives the caller its entry, which is what
 * removes it again: nothing is written on the object itself (a property added to each
 * response showed in profiles), and a removed entry lets go of its neighbours, so nothing
 * removed is reachable from the set (the entry still names its object, which holds it). Iteration goes over the objects
 * there when it starts (rare: shutdown, timeout checks), so it may remove any of them.
 */
export interface LiveEntry<T> {
  readonly value: T
}

interface Entry<T> extends LiveEntry<T> {
  prev: Entry<T> | null
  next: Entry<T> | null
  /** The set it is in; null once removed. */
  set: LiveSet<T> | null
}

export class LiveSet<T> implements Iterable<T> {
  size = 0
  private head: Entry<T> | null = null

  /** Adds `value` (once per call: the caller keeps the entry and removes it with it). */
  add(value: T): LiveEntry<T> {
    const entry: Entry<T> = {value, prev: null, next: this.head, set: this}
    if (this.head !== null) this.head.prev = entry
    this.head = entry
    this.size++
    return entry
  }

  /** Removes what `entry` added; false when it is gone already (or another set's). */
  delete(e: LiveEntry<T>): boolean {
    const entry = e as Entry<T>
    if (entry.set !== this) return false
    entry.set = null
    if (entry.prev !== null) entry.prev.next = entry.next
    else this.head = entry.next
    if (entry.next !== null) entry.next.prev = entry.prev
    entry.prev = entry.next = null
    this.size--
    return true
  }

  /** Removes every object. */
  clear(): void {
    for (let entry = this.head; entry !== null; ) {
      const next: Entry<T> | null = entry.next
      entry.set = null
      entry.prev = entry.next = null
      entry = next
    }
    this.head = null
    this.size = 0
  }

  /** The objects there now, newest first. */
  [Symbol.iterator](): Iterator<T> {
    const values: T[] = []
    for (let entry = this.head; entry !== null; entry = entry.next) values.push(entry.value)
    return values[Symbol.iterator]()
  }
}
