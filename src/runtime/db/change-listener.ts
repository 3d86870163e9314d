/**
 * LISTEN for configuration changes other nodes make, on a connection of its own that
 * outlives the database going away (a restart, a failover, a terminated backend):
 *
 *   connected ──error/end──► dropped ──retry (0.25 s … 5 s)──► connected ──► onChange()
 *
 * Changes made while it was away were never notified, so a reconnect runs `onChange` once
 * (with no version). Until then the node keeps serving the configuration it has.
 */
import {setTimeout as sleep} from 'node:timers/promises'
import type pg from 'pg'
import type {Logger} from '../kit/log.js'

export interface ChangeListener {
  close(): void
}

/**
 * The configuration version a change notification names (`<entity>:<version>`, dao.ts), or
 * undefined when it names none (a declarative sync, a write by an older kctl).
 */
export function notifiedVersion(payload: string | undefined): number | undefined {
  const m = /:(\d+)$/.exec(payload ?? '')
  return m ? Number(m[1]) : undefined
}

/**
 * Resolves once listening; `onChange` gets the version a notification names (see
 * `notifiedVersion`). @throws when the first connection fails (the node does not start).
 */
export async function listenForChanges(pool: pg.Pool, channel: string, onChange: (version?: number) => void, log: Logger): Promise<ChangeListener> {
  let client: pg.PoolClient | undefined
  let stopped = false
  const abort = new AbortController()

  const open = async (): Promise<pg.PoolClient> => {
    const c = await pool.connect()
    const lost = (err: Error) => {
      if (client !== c) return
      client = undefined
      c.release(err)
      if (stopped) return
      log.error(`lost the database connection that listens for configuration changes (${err.message}); reconnecting`)
      void reconnect()
    }
    c.on('error', lost)
    c.on('end', () => lost(new Error('connection ended')))
    c.on('notification', (n: pg.Notification) => onChange(notifiedVersion(n.payload)))
    try {
      await c.query(`LISTEN ${channel}`)
    } catch (err) {
      c.release(err as Error)
      throw err
    }
    client = c
    return c
  }

  const reconnect = async () => {
    for (let delay = 250; !stopped; delay = Math.min(delay * 2, 5000)) {
      await sleep(delay, undefined, {signal: abort.signal}).catch(() => {})
      if (stopped) return
      try {
        await open()
        if (stopped) return void client?.release(true)
        log.notice('listening for configuration changes again; reloading the configuration')
        return onChange()
      } catch (err) {
        if (!stopped) log.warn(`cannot listen for configuration changes yet (${(err as Error).message}); retrying`)
      }
    }
  }

  await open()
  return {
    close() {
      stopped = true
      abort.abort()
      const c = client
      client = undefined
      c?.release(true)
    },
  }
}
