/**
 * Applies a declarative change set in ONE transaction with ONE config notification:
 * a killed or failed apply leaves the old state, never a mix. Events are re-ordered here
 * by the schemas' foreign keys (deletes children first, then creates/updates parents
 * first) whatever order the client sent.
 */
import type pg from 'pg'
import type {EntitySchema} from '../schema/field.js'
import {getSchema, topologicalOrder} from '../schema/registry.js'
import {nowSeconds} from '../schema/validate.js'
import {sameEntity} from '../declarative/compare.js'
import {ErrorCode, GatewayError} from '../errors.js'
import {CONFIG_CHANNEL, Dao, mapPgError} from './dao.js'
import {quotedColumn} from './ddl.js'
import {inTransaction} from './pool.js'

export interface SyncEvent {
  op: 'create' | 'update' | 'delete'
  kind: string
  /** Validated entity with its id (deletes: only the id). */
  entity: Record<string, any>
  /**
   * Updates and deletes: the entity as the client saw it when it computed the change.
   * When the row differs now (someone edited it meanwhile), nothing is applied.
   */
  old?: Record<string, any>
}

/** The gateway changed between the client's diff and this apply; nothing was written. */
export const syncConflict = (kind: string, id: string) =>
  new GatewayError(ErrorCode.SYNC_CONFLICT, `the ${kind} entity '${id}' changed since the diff was computed; nothing was applied: compute the diff again`, {[kind]: id})

export interface SyncSummary {
  created: number
  updated: number
  deleted: number
}

export function orderEvents(events: readonly SyncEvent[]): SyncEvent[] {
  const rank = new Map(topologicalOrder().map((s, i) => [s.name, i]))
  const deletes = events.filter((e) => e.op === 'delete').sort((a, b) => rank.get(b.kind)! - rank.get(a.kind)!)
  const upserts = events.filter((e) => e.op !== 'delete').sort((a, b) => rank.get(a.kind)! - rank.get(b.kind)!)
  return [...deletes, ...upserts]
}

/** @throws GatewayError (Kong's mapping of unique/foreign key violations); nothing is written then. */
export async function applyEvents(pool: pg.Pool, events: readonly SyncEvent[]): Promise<SyncSummary> {
  const summary: SyncSummary = {created: 0, updated: 0, deleted: 0}
  let schema: EntitySchema | undefined
  try {
    await inTransaction(pool, async (c) => {
      await checkExpected(pool, c, events)
      const now = nowSeconds()
      for (const ev of orderEvents(events)) {
        schema = getSchema(ev.kind)!
        if (ev.op === 'delete') {
          await c.query(`DELETE FROM ${schema.name} WHERE id = $1`, [ev.entity.id])
          summary.deleted++
        } else if (ev.op === 'create') {
          await insert(c, schema, await transformed(c, schema, ev.entity, false))
          summary.created++
        } else {
          await update(c, schema, {...(await transformed(c, schema, ev.entity, true)), updated_at: now})
          summary.updated++
        }
      }
      if (events.length) await c.query('SELECT pg_notify($1, $2)', [CONFIG_CHANNEL, 'sync'])
    })
  } catch (err) {
    if (err instanceof GatewayError) throw err
    throw schema ? mapPgError(err, schema) : err
  }
  return summary
}

/** Applies the schema's on-write transformation, against the stored row for updates. */
async function transformed(c: pg.PoolClient, schema: EntitySchema, entity: Record<string, any>, update: boolean): Promise<Record<string, any>> {
  const now = nowSeconds()
  const e: Record<string, any> = update ? {...entity} : {...entity, created_at: now, updated_at: now}
  if (!schema.onWrite) return e
  const old = update ? ((await c.query(`SELECT * FROM ${schema.name} WHERE id = $1`, [e.id])).rows[0] ?? null) : null
  schema.onWrite(e, old)
  return e
}

/** Locks the rows the events expect, then compares them with what the client saw. */
async function checkExpected(pool: pg.Pool, c: pg.PoolClient, events: readonly SyncEvent[]): Promise<void> {
  const expected = events.filter((e) => e.op !== 'create' && e.old)
  const kinds = new Set(expected.map((e) => e.kind))
  for (const kind of kinds) {
    const ids = expected.filter((e) => e.kind === kind).map((e) => e.entity.id)
    await c.query(`SELECT id FROM ${kind} WHERE id = ANY($1::uuid[]) FOR UPDATE`, [ids])
  }
  for (const ev of expected) {
    const schema = getSchema(ev.kind)!
    const row = await new Dao(pool, schema).select(ev.entity.id, c)
    if (!row || !sameEntity(schema, row, ev.old!)) throw syncConflict(ev.kind, ev.entity.id)
  }
}

function values(schema: EntitySchema, e: Record<string, any>, fields: EntitySchema['fields']): unknown[] {
  return fields.map(([n, f]) => {
    const v = e[n]
    if (v === undefined || v === null) return null
    if (f.type === 'foreign') return v.id
    if (f.type === 'string' || f.type === 'integer' || f.type === 'number' || f.type === 'boolean') return v
    return JSON.stringify(v)
  })
}

async function insert(c: pg.PoolClient, schema: EntitySchema, e: Record<string, any>): Promise<void> {
  const cols = schema.fields.map(([n, f]) => quotedColumn(n, f))
  const ph = cols.map((_, i) => `$${i + 1}`).join(', ')
  await c.query(`INSERT INTO ${schema.name} (${cols.join(', ')}) VALUES (${ph})`, values(schema, e, schema.fields))
}

/** Every column but id and created_at, which an update keeps. */
async function update(c: pg.PoolClient, schema: EntitySchema, e: Record<string, any>): Promise<void> {
  const fields = schema.fields.filter(([n]) => n !== 'id' && n !== 'created_at')
  const sets = fields.map(([n, f], i) => `${quotedColumn(n, f)} = $${i + 2}`).join(', ')
  const res = await c.query(`UPDATE ${schema.name} SET ${sets} WHERE id = $1`, [e.id, ...values(schema, e, fields)])
  if (res.rowCount === 0) await insert(c, schema, {...e, created_at: e.updated_at})
}
