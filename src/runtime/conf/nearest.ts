/** Suggestions for misspelt configuration keys, shared by the node and kctl's spec check. */
import {CONF_KEYS} from './defaults.js'

/** The known key closest to a misspelt one (edit distance ≤ 3), for an error or warning. */
export function nearestConfKey(name: string): string | undefined {
  let best: {key: string; d: number} | undefined
  for (const key of Object.keys(CONF_KEYS)) {
    const d = editDistance(name, key)
    if (d <= 3 && (!best || d < best.d)) best = {key, d}
  }
  return best?.key
}

/** Levenshtein distance: the fewest single-character edits that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    prev = row
  }
  return prev[b.length]
}
