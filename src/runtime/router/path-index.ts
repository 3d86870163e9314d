/**
 * Matchers bucketed by path so that a lookup touches only the matchers that can match:
 * prefix matchers by their exact prefix string (probed once per distinct prefix length),
 * regex matchers and path-less matchers in priority order. Every list is sorted by rank,
 * so a scan stops as soon as it cannot beat the best match found so far.
 *
 * Built with `add` + `freeze`; changed afterwards only through a `fork` (copy on write:
 * the index a running router reads never changes), with `insert`/`remove`, which keep
 * every list sorted by rank.
 */
import type {Matcher} from './compile.js'
import {ShardedMap} from './sharded-map.js'

const byRank = (a: Matcher, b: Matcher) => a.rank - b.rank

export class PathIndex {
  private byPrefix = new ShardedMap<Matcher[]>()
  /** Distinct prefix strings per length; `lengths` are its keys, longest first. */
  private perLength = new Map<number, number>()
  private lengths: number[] = []
  private regex: Matcher[] = []
  private pathless: Matcher[] = []

  add(m: Matcher): void {
    if (m.regexes) this.regex.push(m)
    else if (m.prefixes) {
      for (const p of m.prefixes) {
        const list = this.byPrefix.get(p)
        if (list) {
          if (list[list.length - 1] !== m) list.push(m)
        } else {
          this.byPrefix.set(p, [m])
          this.perLength.set(p.length, (this.perLength.get(p.length) ?? 0) + 1)
        }
      }
    } else this.pathless.push(m)
  }

  /** Sorts every bucket by rank; call once after the last `add`. */
  freeze(): void {
    for (const list of this.byPrefix.values()) list.sort(byRank)
    this.lengths = [...this.perLength.keys()].sort((a, b) => b - a)
    this.regex.sort(byRank)
    this.pathless.sort(byRank)
  }

  /** A copy to change with insert/remove; this one stays as it is. */
  fork(): PathIndex {
    const f = new PathIndex()
    f.byPrefix = this.byPrefix.fork()
    f.perLength = new Map(this.perLength)
    f.lengths = this.lengths
    f.regex = this.regex
    f.pathless = this.pathless
    return f
  }

  isEmpty(): boolean {
    return this.byPrefix.size === 0 && this.regex.length === 0 && this.pathless.length === 0
  }

  /** Adds a matcher whose rank is set, keeping rank order (lists are copied, never changed). */
  insert(m: Matcher): void {
    if (m.regexes) this.regex = inserted(this.regex, m)
    else if (m.prefixes) {
      for (const p of new Set(m.prefixes)) {
        const list = this.byPrefix.get(p)
        if (!list) this.perLength.set(p.length, (this.perLength.get(p.length) ?? 0) + 1)
        this.byPrefix.set(p, inserted(list ?? [], m))
      }
      this.lengths = [...this.perLength.keys()].sort((a, b) => b - a)
    } else this.pathless = inserted(this.pathless, m)
  }

  remove(m: Matcher): void {
    if (m.regexes) this.regex = this.regex.filter((x) => x !== m)
    else if (m.prefixes) {
      for (const p of new Set(m.prefixes)) {
        const list = this.byPrefix.get(p)
        if (!list) continue
        const rest = list.filter((x) => x !== m)
        if (rest.length) this.byPrefix.set(p, rest)
        else {
          this.byPrefix.delete(p)
          const n = (this.perLength.get(p.length) ?? 1) - 1
          if (n > 0) this.perLength.set(p.length, n)
          else this.perLength.delete(p.length)
        }
      }
      this.lengths = [...this.perLength.keys()].sort((a, b) => b - a)
    } else this.pathless = this.pathless.filter((x) => x !== m)
  }

  /** Calls `visit` with each bucket that may hold matchers for `path`. */
  forEachCandidateList(path: string, visit: (list: Matcher[]) => void): void {
    for (const len of this.lengths) {
      if (len > path.length) continue
      const list = this.byPrefix.get(len === path.length ? path : path.slice(0, len))
      if (list) visit(list)
    }
    if (this.regex.length) visit(this.regex)
    if (this.pathless.length) visit(this.pathless)
  }
}

/** A copy of a rank-sorted list with `m` in its place. */
function inserted(list: Matcher[], m: Matcher): Matcher[] {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (list[mid].rank < m.rank) lo = mid + 1
    else hi = mid
  }
  const out = list.slice()
  out.splice(lo, 0, m)
  return out
}
