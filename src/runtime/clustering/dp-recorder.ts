/**
 * Writes the CP's view of its data planes to `clustering_data_planes`, coalesced.
 *
 * A ping used to be one UPSERT sent straight to the pool. With 1,000 DPs those ran on
 * several pool connections at once, so two writes for the same DP could commit in the
 * wrong order: a periodic ping carrying the old hash, sent just before the new config
 * arrived, could overwrite the ping carrying the new hash, and the row stayed stale until
 * the next ping (30 s). Now:
 *
 *   mark(dp) ─► dirty set (latest state per DP wins) ─► one flush in flight at a time:
 *   one multi-row UPSERT of everything dirty ─► anything marked meanwhile ─► next flush
 *
 * so a DP's row is written in the order its pings came, and a burst of 1,000 pings is a
 * few statements instead of 1,000.
 */
import type pg from 'pg'
import type {Logger} from '../kit/log.js'
import {upsertDataPlanes, type DataPlaneRow} from './data-planes.js'

export interface DataPlaneRecorder {
  /** Queues the DP's current row; resolves once a write including it has finished (never rejects). */
  mark(row: DataPlaneRow): Promise<void>
}

export function createDataPlaneRecorder(pool: pg.Pool, purgeDelay: number, log: Logger): DataPlaneRecorder {
  let dirty = new Map<string, DataPlaneRow>()
  let waiters: Array<() => void> = []
  let flushing = false

  async function flush(): Promise<void> {
    flushing = true
    while (dirty.size) {
      const rows = [...dirty.values()]
      const done = waiters
      dirty = new Map()
      waiters = []
      try {
        await upsertDataPlanes(pool, rows, purgeDelay)
      } catch (err) {
        log.error(`could not record ${rows.length} data plane${rows.length === 1 ? '' : 's'}: ${(err as Error).message}`)
      }
      for (const w of done) w()
    }
    flushing = false
  }

  return {
    mark(row) {
      dirty.set(row.id, row)
      const written = new Promise<void>((resolve) => waiters.push(resolve))
      if (!flushing) void flush()
      return written
    },
  }
}
