/**
 * State → declarative file, nested as decK dumps it: routes under their service, plugins
 * under the one service, route or consumer they belong to, targets under upstreams, snis
 * under certificates, credentials under consumers. An entity with several references
 * (a plugin for a route and a consumer) or none stays in the top-level list. Entities
 * keep their ids and defaults; timestamps and nulls are left out. Applying a dump back
 * is a no-op.
 */
import {stringify} from 'yaml'
import {foreignId, foreignKeys, getSchema, topologicalOrder} from '../schema/registry.js'
import type {EntitySchema} from '../schema/field.js'
import {FORMAT_VERSION} from './format.js'
import {nestedOf} from './nesting.js'
import type {State} from './state.js'

export function dumpState(state: State, selectTags: readonly string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {_format_version: FORMAT_VERSION}
  if (selectTags.length) out._info = {select_tags: [...selectTags]}
  const rows = new Map<string, Record<string, unknown>>()
  for (const schema of topologicalOrder()) {
    const list = [...(state[schema.name] ?? [])].sort((a, b) => (a.id < b.id ? -1 : 1))
    for (const e of list) {
      const row = plain(schema, e)
      rows.set(`${schema.name}:${e.id}`, row)
      const home = homeOf(schema, e, rows)
      if (home) {
        delete row[home.via]
        ;((home.parent[home.key] ??= []) as unknown[]).push(row)
      } else ((out[schema.name] ??= []) as unknown[]).push(row)
    }
  }
  return out
}

function plain(schema: EntitySchema, e: Record<string, unknown>): Record<string, unknown> {
  const row: Record<string, unknown> = {}
  for (const [name] of schema.fields) {
    if (name === 'created_at' || name === 'updated_at' || e[name] === null || e[name] === undefined) continue
    row[name] = e[name]
  }
  return row
}

/** The parent row this entity nests in: only when exactly one reference is set and it nests. */
function homeOf(schema: EntitySchema, e: Record<string, unknown>, rows: Map<string, Record<string, unknown>>) {
  const set = foreignKeys(schema).filter(([name]) => foreignId(e[name]))
  if (set.length !== 1) return undefined
  const [field, f] = set[0]
  const parentSchema = getSchema(f.reference)
  const n = parentSchema ? nestedOf(parentSchema).find((x) => x.entity === schema.name && x.via === field) : undefined
  const parent = n ? rows.get(`${f.reference}:${foreignId(e[field])}`) : undefined
  return n && parent ? {parent, key: n.key, via: field} : undefined
}

export function dumpText(state: State, format: 'yaml' | 'json', selectTags: readonly string[] = []): string {
  const file = dumpState(state, selectTags)
  return format === 'json' ? `${JSON.stringify(file, null, 2)}\n` : stringify(file, {lineWidth: 0})
}
