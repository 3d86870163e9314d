/**
 * The configuration as it travels to data planes (`config_table`): Kong's flat export,
 * `_format_version` 3.0, one array per entity, foreign keys as plain ids, nulls left out.
 * `importConfig` turns it back into the entity shape the proxy is built from.
 */
import {ENTITIES} from '../schema/registry.js'

export type EntityArrays = Record<string, Record<string, any>[]>

export function exportConfig(entities: EntityArrays): Record<string, unknown> {
  const out: Record<string, unknown> = {_format_version: '3.0', _transform: false}
  for (const schema of ENTITIES) {
    const rows = entities[schema.name]
    if (!rows?.length) continue
    out[schema.name] = rows.map((row) => {
      const e: Record<string, unknown> = {}
      for (const [name, f] of schema.fields) {
        const v = row[name]
        if (v === null || v === undefined) continue
        e[name] = f.type === 'foreign' ? v.id : v
      }
      return e
    })
  }
  return out
}

/** Throws when an entity array is malformed; fills absent fields with null. */
export function importConfig(config: Record<string, unknown>): EntityArrays {
  const out: EntityArrays = {}
  for (const schema of ENTITIES) {
    const rows = config[schema.name] ?? []
    if (!Array.isArray(rows)) throw new Error(`${schema.name}: expected an array`)
    out[schema.name] = rows.map((row: Record<string, unknown>, i) => {
      if (!row || typeof row !== 'object' || typeof row.id !== 'string') throw new Error(`${schema.name}[${i}]: expected an entity with an id`)
      const e: Record<string, unknown> = {}
      for (const [name, f] of schema.fields) {
        const v = row[name]
        e[name] = v === undefined || v === null ? null : f.type === 'foreign' ? {id: typeof v === 'object' ? (v as any).id : v} : v
      }
      return e
    })
  }
  return out
}
