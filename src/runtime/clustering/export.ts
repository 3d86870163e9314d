/**
 * The configuration as it travels to data planes (`config_table`): Kong's flat export,
 * `_format_version` 3.0, one array per entity, foreign keys as plain ids, nulls left out.
 * `importConfig` turns it back into the entity shape the proxy is built from.
 */
import type {EntitySchema} from '../schema/field.js'
import {ENTITIES, toEntitySet, type EntitySet} from '../schema/registry.js'

/** Every entity of the configuration by kind (the schema registry's `EntitySet`). */
export type EntityArrays = EntitySet

/** Entities by kind, validated (an `EntitySet`, or a declarative state). */
export type EntityRows = Readonly<Record<string, ReadonlyArray<Readonly<Record<string, unknown>>> | undefined>>

/** `nulls`: every field of each row, null when unset (Kong's `GET /config`); else nulls are left out. */
export function exportConfig(set: EntitySet | EntityRows, opts: {nulls?: boolean} = {}): Record<string, unknown> {
  // an EntitySet is a set of EntityRows; listing it in the union spares the compiler the comparison
  const entities = set as EntityRows
  const out: Record<string, unknown> = {_format_version: '3.0', _transform: false}
  for (const schema of ENTITIES) {
    const rows = entities[schema.name]
    if (!rows?.length) continue
    out[schema.name] = rows.map((row) => exportRow(schema, row, opts.nulls))
  }
  return out
}

/** Throws when an entity array is malformed; fills absent fields with null. */
export function importConfig(config: Record<string, unknown>): EntityArrays {
  const out: Record<string, unknown[]> = {}
  for (const schema of ENTITIES) {
    const rows = config[schema.name] ?? []
    if (!Array.isArray(rows)) throw new Error(`${schema.name}: expected an array`)
    out[schema.name] = rows.map((row: Record<string, unknown>, i) => importRow(schema, row, `${schema.name}[${i}]`))
  }
  return toEntitySet(out)
}

/** One `config_table` row → the entity shape. Throws when it is not an entity with an id. */
export function importRow(schema: EntitySchema, row: Record<string, unknown>, where: string): Record<string, unknown> {
  if (!row || typeof row !== 'object' || typeof row.id !== 'string') throw new Error(`${where}: expected an entity with an id`)
  const e: Record<string, unknown> = {}
  for (const [name, f] of schema.fields) {
    const v = row[name]
    e[name] = v === undefined || v === null ? null : f.type === 'foreign' ? {id: typeof v === 'object' ? (v as {id?: unknown}).id : v} : v
  }
  return e
}

/** One entity → its `config_table` row (exportConfig's shape). */
export function exportRow(schema: EntitySchema, row: Readonly<Record<string, unknown>>, nulls = false): Record<string, unknown> {
  const e: Record<string, unknown> = {}
  for (const [name, f] of schema.fields) {
    const v = row[name]
    if (v === null || v === undefined) {
      if (nulls) e[name] = null
      continue
    }
    e[name] = f.type === 'foreign' ? (v as {id: unknown}).id : v
  }
  return e
}
