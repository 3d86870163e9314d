/**
 * Set-based writes for the declarative sync: one statement per kind and chunk instead of
 * one round trip per row (21,000 round trips made a 10,000-service apply wait on the
 * database most of the time). Rows travel as one JSON array parameter and Postgres maps
 * it onto the table's row type with `jsonb_populate_recordset`, so column types come
 * from the table and nothing is spelled twice.
 */
import type pg from 'pg'
import type {EntitySchema} from '../schema/field.js'
import {foreignId, type EntityRecord} from '../schema/registry.js'
import {column, quotedColumn} from './ddl.js'

/** Rows per statement: bounds the parameter size (a few MB) whatever the change set. */
const CHUNK = 2000

function chunks<T>(list: readonly T[]): T[][] {
  const out: T[][] = []
  for (let i = 0; i < list.length; i += CHUNK) out.push(list.slice(i, i + CHUNK))
  return out
}

/** An entity as a row object keyed by column; null values are left out (SQL NULL). */
function toRow(schema: EntitySchema, e: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const row: Record<string, unknown> = {}
  for (const [n, f] of schema.fields) {
    const v = f.type === 'foreign' ? foreignId(e[n]) : e[n]
    if (v !== undefined && v !== null) row[column(n, f)] = v
  }
  return row
}

const recordset = (schema: EntitySchema) => `jsonb_populate_recordset(NULL::${schema.name}, $1::jsonb)`

export async function insertRows(c: pg.PoolClient, schema: EntitySchema, entities: ReadonlyArray<Readonly<Record<string, unknown>>>): Promise<void> {
  const cols = schema.fields.map(([n, f]) => quotedColumn(n, f)).join(', ')
  for (const part of chunks(entities)) {
    await c.query(`INSERT INTO ${schema.name} (${cols}) SELECT ${cols} FROM ${recordset(schema)}`, [JSON.stringify(part.map((e) => toRow(schema, e)))])
  }
}

/**
 * Every column but id and created_at, which an update keeps. A `ttl` (seconds from
 * `created_at`, key-auth credentials) written by an update counts from the write, as the
 * Admin API's (Kong's `updated_at + ttl`). @returns the ids that matched no row
 */
export async function updateRows(c: pg.PoolClient, schema: EntitySchema, entities: readonly EntityRecord[]): Promise<string[]> {
  const sets = schema.fields
    .filter(([n]) => n !== 'id' && n !== 'created_at')
    .map(([n, f]) => {
      const col = quotedColumn(n, f)
      if (n === 'ttl') return `${col} = CASE WHEN r.${col} > 0 THEN r.${col} + (floor(extract(epoch from now())) - t.created_at)::integer ELSE r.${col} END`
      return `${col} = r.${col}`
    })
    .join(', ')
  const missing: string[] = []
  for (const part of chunks(entities)) {
    const res = await c.query(`UPDATE ${schema.name} t SET ${sets} FROM ${recordset(schema)} r WHERE t.id = r.id RETURNING t.id`, [JSON.stringify(part.map((e) => toRow(schema, e)))])
    const found = new Set(res.rows.map((r) => r.id as string))
    for (const e of part) if (!found.has(e.id)) missing.push(e.id)
  }
  return missing
}

export async function deleteRows(c: pg.PoolClient, schema: EntitySchema, ids: readonly string[]): Promise<void> {
  for (const part of chunks(ids)) await c.query(`DELETE FROM ${schema.name} WHERE id = ANY($1::uuid[])`, [part])
}

/** Rows by id, raw (column names), locked until the transaction ends. */
export async function lockRows(c: pg.PoolClient, schema: EntitySchema, ids: readonly string[], cols = '*'): Promise<Array<Record<string, unknown>>> {
  const rows: Array<Record<string, unknown>> = []
  for (const part of chunks(ids)) rows.push(...(await c.query(`SELECT ${cols} FROM ${schema.name} WHERE id = ANY($1::uuid[]) FOR UPDATE`, [part])).rows)
  return rows
}
