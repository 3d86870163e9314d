/**
 * Reads the whole gateway configuration from Postgres in one consistent snapshot
 * (a REPEATABLE READ transaction), as the entity arrays the proxy is built from.
 */
import type pg from 'pg'
import {Dao} from './dao.js'
import {ENTITIES, toEntitySet, type EntitySet} from '../schema/registry.js'

export type {EntityArrays} from '../clustering/export.js'

export async function loadEntities(pool: pg.Pool): Promise<EntitySet>
/** `also` reads more in the same snapshot (the configuration's version). */
export async function loadEntities<T>(pool: pg.Pool, also: (c: pg.PoolClient) => Promise<T>): Promise<{entities: EntitySet; version: T}>
export async function loadEntities<T>(pool: pg.Pool, also?: (c: pg.PoolClient) => Promise<T>): Promise<EntitySet | {entities: EntitySet; version: T}> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
    const version = also ? await also(client) : undefined
    const rows: Record<string, unknown[]> = {}
    for (const s of ENTITIES) rows[s.name] = await new Dao(pool, s).all(client)
    await client.query('COMMIT')
    return also ? {entities: toEntitySet(rows), version: version as T} : toEntitySet(rows)
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    throw err
  } finally {
    client.release()
  }
}

/**
 * Serialises rebuilds and coalesces bursts: callers that arrive while a rebuild is
 * queued share it; one that arrives while a rebuild runs gets the next one, which
 * starts after it and so sees every write committed before the call.
 */
export function coalesce(fn: () => Promise<void>): () => Promise<void> {
  let tail: Promise<void> = Promise.resolve()
  let queued: Promise<void> | null = null
  return () => {
    if (queued) return queued
    const run = tail.catch(() => {}).then(() => {
      queued = null
      return fn()
    })
    queued = run
    tail = run
    return run
  }
}
