/**
 * Matchers bucketed by path so that a lookup touches only the matchers that can match:
 * prefix matchers by their exact prefix string (probed once per distinct prefix length),
 * regex matchers and path-less matchers in priority order. Every list is sorted by rank,
 * so a scan stops as soon as it cannot beat the best match found so far.
 */
import type {Matcher} from './compile.js'

export class PathIndex {
  private readonly byPrefix = new Map<string, Matcher[]>()
  private lengths: number[] = []
  private readonly regex: Matcher[] = []
  private readonly pathless: Matcher[] = []

  add(m: Matcher): void {
    if (m.regexes) this.regex.push(m)
    else if (m.prefixes) {
      for (const p of m.prefixes) {
        const list = this.byPrefix.get(p)
        if (list) {
          if (list[list.length - 1] !== m) list.push(m)
        } else this.byPrefix.set(p, [m])
      }
    } else this.pathless.push(m)
  }

  /** Sorts every bucket by rank; call once after the last `add`. */
  freeze(): void {
    const byRank = (a: Matcher, b: Matcher) => a.rank - b.rank
    const lengths = new Set<number>()
    for (const [p, list] of this.byPrefix) {
      list.sort(byRank)
      lengths.add(p.length)
    }
    this.lengths = [...lengths].sort((a, b) => b - a)
    this.regex.sort(byRank)
    this.pathless.sort(byRank)
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
