/**
 * Medians, interleaved rounds, Markdown tables and the machine description that every
 * benchmark prints next to its figures.
 */
import {readFileSync} from 'node:fs'
import {cpus, totalmem} from 'node:os'

export function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (s.length === 0) return NaN
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** Nearest-rank percentile of an array of numbers (sorted in place). */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

/**
 * Runs `measure(entry)` for every entry, round after round, in the same order each
 * round (A B C A B C …), so slow drifts on a shared machine hit every entry alike.
 * Returns Map(entry.name → array of results).
 */
export async function interleave(entries, rounds, measure, onResult = () => {}) {
  const out = new Map(entries.map((e) => [e.name, []]))
  for (let r = 0; r < rounds; r++) {
    for (const e of entries) {
      const res = await measure(e, r)
      out.get(e.name).push(res)
      onResult(e, r, res)
    }
  }
  return out
}

/**
 * The median over rounds of `pick(a[r]) / pick(b[r])`: each ratio compares two runs made
 * seconds apart, so a machine that speeds up or slows down between rounds does not move it
 * the way it moves a ratio of medians. `a` and `b` are arrays of per-round results.
 */
export function pairedRatio(a, b, pick) {
  return median(a.map((x, r) => (b[r] === undefined ? NaN : pick(x) / pick(b[r]))))
}

/**
 * Per round, the result of the entry whose `pick` is best (`better(x, y)` true when x beats
 * y) among `names`: e.g. the fastest Node peer of each round, which a paired ratio then
 * compares against. Empty when none of `names` ran.
 */
export function bestPerRound(results, names, pick, better = (x, y) => x > y) {
  const series = names.filter((n) => results.has(n)).map((n) => results.get(n))
  if (series.length === 0) return []
  return series[0].map((_, r) => series.map((s) => s[r]).filter((x) => x !== undefined).reduce((best, x) => (better(pick(x), pick(best)) ? x : best)))
}

/** A Markdown table; `rows` are arrays of cells already formatted. */
export function markdownTable(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

export const fmt = {
  int: (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—'),
  ms: (x) => (Number.isFinite(x) ? (x < 1 ? x.toFixed(3) : x.toFixed(2)) : '—'),
  us: (x) => (Number.isFinite(x) ? (x < 10 ? x.toFixed(2) : x.toFixed(1)) : '—'),
  ratio: (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '—'),
}

/** nproc, CPU model, RAM, Node version and the date, as one Markdown line. */
export function machine() {
  let model = cpus()[0]?.model ?? 'unknown'
  try {
    model = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model
  } catch {}
  const gib = (totalmem() / 2 ** 30).toFixed(0)
  return `${cpus().length} cores (${model}), ${gib} GiB RAM, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`
}
