/**
 * Counters for the `local` rate-limiting policy: per proxy, in memory, in fixed windows
 * aligned on the UTC calendar as Kong's are. A counter whose window has passed counts
 * from zero again; stale ones are swept when the map grows, not on every request.
 */
export const PERIODS = ['second', 'minute', 'hour', 'day', 'month', 'year'] as const
export type Period = (typeof PERIODS)[number]

const SWEEP_AT = 100_000

export class LocalCounters {
  private readonly map = new Map<string, {window: number; count: number}>()

  get(key: string, window: number): number {
    const c = this.map.get(key)
    return c && c.window === window ? c.count : 0
  }

  increment(key: string, window: number, by = 1): void {
    const c = this.map.get(key)
    if (c && c.window === window) c.count += by
    else {
      if (this.map.size >= SWEEP_AT) this.sweep()
      this.map.set(key, {window, count: by})
    }
  }

  private sweep(): void {
    const now = Date.now()
    for (const [k, c] of this.map) if (c.window < now - 366 * 86_400_000) this.map.delete(k)
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
