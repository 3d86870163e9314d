/**
 * Counters for the `local` rate-limiting policy: per proxy, in memory, in fixed windows
 * aligned on the UTC calendar as Kong's are: one map entry per identifier and scope, with a
 * slot per period. A counter whose window has passed counts from zero again; stale ones are
 * swept when the map grows, not on every request.
 */
export const PERIODS = ['second', 'minute', 'hour', 'day', 'month', 'year'] as const
export type Period = (typeof PERIODS)[number]

const SWEEP_AT = 100_000

/**
 * One identifier's counters in one scope, a slot per period (`PERIODS` order): the window a
 * count is for (its start), when that window ends, and the count.
 */
export interface CounterSet {
  readonly starts: number[]
  readonly ends: number[]
  readonly counts: number[]
}

export class LocalCounters {
  private readonly map = new Map<string, CounterSet>()

  /** The counters of `key` (e.g. scope and identifier), made empty on first use. */
  of(key: string): CounterSet {
    let set = this.map.get(key)
    if (set === undefined) {
      if (this.map.size >= SWEEP_AT) this.sweep()
      set = {starts: [0, 0, 0, 0, 0, 0], ends: [0, 0, 0, 0, 0, 0], counts: [0, 0, 0, 0, 0, 0]}
      this.map.set(key, set)
    }
    return set
  }

  /** The count of period slot `p` in the window starting at `start` (0 once another window began). */
  static get(set: CounterSet, p: number, start: number): number {
    return set.starts[p] === start ? set.counts[p] : 0
  }

  /** Counts `by` in period slot `p` for the window `start`–`end`; a new window counts from zero. */
  static increment(set: CounterSet, p: number, start: number, end: number, by = 1): void {
    if (set.starts[p] === start) set.counts[p] += by
    else {
      set.starts[p] = start
      set.ends[p] = end
      set.counts[p] = by
    }
  }

  /** Drops the counters whose every window has ended; if that frees too little, all of them. */
  private sweep(): void {
    const now = Date.now()
    for (const [k, set] of this.map) if (set.ends.every((end) => end <= now)) this.map.delete(k)
    if (this.map.size >= SWEEP_AT) this.map.clear()
  }
}

/** Start and end (ms since the epoch) of the window of `period` containing `now`. */
export function windowOf(period: Period, now: number): [number, number] {
  const d = new Date(now)
  switch (period) {
    case 'second':
      return span(Math.floor(now / 1000) * 1000, 1000)
    case 'minute':
      return span(Math.floor(now / 60_000) * 60_000, 60_000)
    case 'hour':
      return span(Math.floor(now / 3_600_000) * 3_600_000, 3_600_000)
    case 'day':
      return span(Math.floor(now / 86_400_000) * 86_400_000, 86_400_000)
    case 'month':
      return [Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)]
    case 'year':
      return [Date.UTC(d.getUTCFullYear(), 0, 1), Date.UTC(d.getUTCFullYear() + 1, 0, 1)]
  }
}

const span = (start: number, len: number): [number, number] => [start, start + len]

/** Lengths (ms) of the periods before `month`, whose windows are plain multiples of them. */
const LENGTHS = [1000, 60_000, 3_600_000, 86_400_000]
const MONTH = PERIODS.indexOf('month')
/** The last month and year windows: they take a Date to work out and change rarely. */
const calendar: Array<[number, number]> = [
  [0, 0],
  [0, 0],
]

/**
 * `windowOf` for period slot `slot`, written to `starts[i]` and `ends[i]`: the per-request
 * form, which makes no tuple (nor, for month and year, a Date but once a window).
 */
export function windowAt(slot: number, now: number, starts: {[i: number]: number}, ends: {[i: number]: number}, i: number): void {
  if (slot < MONTH) {
    const len = LENGTHS[slot]
    starts[i] = Math.floor(now / len) * len
    ends[i] = starts[i] + len
    return
  }
  let w = calendar[slot - MONTH]
  if (!(now >= w[0] && now < w[1])) w = calendar[slot - MONTH] = windowOf(PERIODS[slot], now)
  starts[i] = w[0]
  ends[i] = w[1]
}
