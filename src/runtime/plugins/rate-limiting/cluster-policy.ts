/**
 * rate-limiting's `cluster` policy: counters in the node's own Postgres, in Kong's
 * `ratelimiting_metrics` table, so every node on the database (and every worker of a
 * node) shares them. One row per (identifier, period, window start, service, route); a
 * request adds to its rows with an upsert, and usage reads only the current windows'
 * rows, so a row of a window that has passed counts for nothing. Rows carry Kong's
 * `ttl` (now + the period's expiry) and expired ones are deleted at most once a minute
 * per process, where Kong deletes them from a trigger.
 */
import type pg from 'pg'
import type {Period} from './counters.js'

/** Kong's stand-in when a counter has no service or route. */
export const EMPTY_UUID = '00000000-0000-0000-0000-000000000000'

/** Seconds a counter row lives (Kong's `expiration.lua`). */
export const EXPIRATION: Record<Period, number> = {second: 1, minute: 60, hour: 3600, day: 86400, month: 2592000, year: 31536000}

const SWEEP_EVERY_MS = 60_000

/** The counters of one request: who, where, and each window's period and start (ms). */
export interface ClusterKey {
  identifier: string
  service: string | null
  route: string | null
  windows: ReadonlyArray<{period: Period; start: number}>
}

const READ = `
  SELECT m.period, m.value FROM ratelimiting_metrics m
    JOIN unnest($4::text[], $5::double precision[]) AS w(period, start)
      ON m.period = w.period AND m.period_date = to_timestamp(w.start)
   WHERE m.identifier = $1 AND m.service_id = $2 AND m.route_id = $3`

const ADD = `
  INSERT INTO ratelimiting_metrics (identifier, period, period_date, service_id, route_id, value, ttl)
  SELECT $1, w.period, to_timestamp(w.start), $2, $3, $6, now() + make_interval(secs => w.expiry)
    FROM unnest($4::text[], $5::double precision[], $7::double precision[]) AS w(period, start, expiry)
  ON CONFLICT (identifier, period, period_date, service_id, route_id)
  DO UPDATE SET value = ratelimiting_metrics.value + EXCLUDED.value`

export class ClusterCounters {
  private lastSweep = 0

  constructor(private readonly pool: pg.Pool) {}

  /** Requests counted so far in each of `key.windows` (0 when none). Rejects when Postgres fails. */
  async usage(key: ClusterKey): Promise<number[]> {
    const res = await this.pool.query<{period: Period; value: number | null}>(READ, [...this.ids(key), key.windows.map((w) => w.period), key.windows.map((w) => w.start / 1000)])
    const byPeriod = new Map(res.rows.map((r) => [r.period, r.value ?? 0]))
    return key.windows.map((w) => Math.max(0, byPeriod.get(w.period) ?? 0))
  }

  /** Adds `value` to every window of `key`, in one statement. */
  async increment(key: ClusterKey, value = 1): Promise<void> {
    const periods = key.windows.map((w) => w.period)
    await this.pool.query(ADD, [...this.ids(key), periods, key.windows.map((w) => w.start / 1000), value, periods.map((p) => EXPIRATION[p])])
  }

  /** Deletes expired rows, at most once a minute; `onError` hears a failure (the counting went through). */
  sweep(onError: (err: Error) => void): void {
    if (Date.now() - this.lastSweep < SWEEP_EVERY_MS) return
    this.lastSweep = Date.now()
    this.pool.query('DELETE FROM ratelimiting_metrics WHERE ttl < now()').catch(onError)
  }

  private ids(key: ClusterKey): [string, string, string] {
    return [key.identifier, key.service ?? EMPTY_UUID, key.route ?? EMPTY_UUID]
  }
}
