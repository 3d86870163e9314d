/**
 * Applies a declarative change set in ONE transaction with ONE config notification:
 * a killed or failed apply leaves the old state, never a mix. Events are re-ordered here
 * by the schemas' foreign keys (deletes children first, then creates/updates parents
 * first) whatever order the client sent, and written a kind at a time with set-based
 * statements (batch.ts).
 */
import type pg from 'pg'
import type {EntitySchema} from '../schema/field.js'
import {getSchema, topologicalOrder, type EntityRecord} from '../schema/registry.js'
import {nowFor} from '../schema/validate.js'
import {sameEntity} from '../declarative/compare.js'
import {ErrorCode, GatewayError} from './errors.js'
import {CONFIG_CHANNEL, Dao, mapPgError} from './dao.js'
import {quotedColumn} from './ddl.js'
import {deleteRows, insertRows, lockRows, updateRows} from './batch.js'
import {inTransaction} from './pool.js'

export interface SyncEvent {
  op: 'create' | 'update' | 'delete'
  kind: string
  /** Validated entity with its id (deletes: only the id). */
  entity: EntityRecord
  /**
   * Updates and deletes: the entity as the client saw it when it computed the change.
   * When the row differs now (someone edited it meanwhile), nothing is applied.
   */
  old?: Record<string, unknown>
  /** false: the entity's secrets are already transformed (`_transform: false`); no on-write transformation. */
  transform?: false
}

/** The gateway changed between the client's diff and this apply; nothing was written. */
export const syncConflict = (kind: string, id: string) =>
  new GatewayError(ErrorCode.SYNC_CONFLICT, `the ${kind} entity '${id}' changed since the diff was computed; nothing was applied: compute the diff again`, {[kind]: id})

export interface SyncSummary {
  created: number
  updated: number
  deleted: number
}

/** @throws GatewayError (Kong's mapping of unique/foreign key violations); nothing is written then. */
export async function applyEvents(pool: pg.Pool, events: readonly SyncEvent[]): Promise<SyncSummary> {
  const summary: SyncSummary = {created: 0, updated: 0, deleted: 0}
  let schema: EntitySchema | undefined
  try {
    await inTransaction(pool, async (c) => {
      await checkExpected(c, events)
      const asWritten = new Set(events.filter((e) => e.transform === false).map((e) => e.entity.id as string))
      const order = topologicalOrder()
      const of = (op: SyncEvent['op'], kind: string) => events.filter((e) => e.op === op && e.kind === kind).map((e) => e.entity)
      // Deletes children first, then parents first: updates before creates, so that a
      // natural key freed by an update can be taken by a create.
      for (const s of [...order].reverse()) {
        schema = s
        const ids = of('delete', s.name).map((e) => e.id as string)
        if (ids.length) await deleteRows(c, s, ids)
        summary.deleted += ids.length
      }
      for (const s of order) {
        schema = s
        const now = nowFor(s)
        const updates = await transformed(c, s, of('update', s.name), now, true, asWritten)
        const missing = new Set(updates.length ? await updateRows(c, s, updates) : [])
        const creates = [...(await transformed(c, s, of('create', s.name), now, false, asWritten)), ...updates.filter((e) => missing.has(e.id)).map((e) => ({...e, created_at: now}))]
        if (creates.length) await insertRows(c, s, creates)
        summary.created += creates.length - missing.size
        summary.updated += updates.length
      }
      if (events.length) await c.query('SELECT pg_notify($1, $2)', [CONFIG_CHANNEL, 'sync'])
    })
  } catch (err) {
    if (err instanceof GatewayError) throw err
    throw schema ? mapPgError(err, schema) : err
  }
  return summary
}

/** Timestamps and the schema's on-write transformation (against the stored rows for updates), except for ids in `asWritten`. */
async function transformed(
  c: pg.PoolClient,
  schema: EntitySchema,
  entities: EntityRecord[],
  now: number,
  update: boolean,
  asWritten: ReadonlySet<string>,
): Promise<EntityRecord[]> {
  const out = entities.map((e): EntityRecord => (update ? {...e, updated_at: now} : {...e, created_at: now, updated_at: now}))
  if (!schema.onWrite || !out.length) return out
  const old = update ? new Map((await lockRows(c, schema, out.map((e) => e.id))).map((r) => [r.id, r])) : new Map()
  for (const e of out) if (!asWritten.has(e.id)) schema.onWrite(e, old.get(e.id) ?? null)
  return out
}

/** Locks the rows the events expect, then compares them with what the client saw. */
async function checkExpected(c: pg.PoolClient, events: readonly SyncEvent[]): Promise<void> {
  const expected = events.filter((e) => e.op !== 'create' && e.old)
  for (const kind of new Set(expected.map((e) => e.kind))) {
    const schema = getSchema(kind)!
    const dao = new Dao(c as unknown as pg.Pool, schema)
    const mine = expected.filter((e) => e.kind === kind)
    const cols = schema.fields.map(([n, f]) => quotedColumn(n, f)).join(', ')
    const rows = new Map((await lockRows(c, schema, mine.map((e) => e.entity.id), cols)).map((r) => [r.id, dao.rowToEntity(r)]))
    for (const ev of mine) {
      const row = rows.get(ev.entity.id)
      if (!row || !sameEntity(schema, row, ev.old!)) throw syncConflict(ev.kind, ev.entity.id)
    }
  }
}
