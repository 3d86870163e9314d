/**
 * State → declarative file: `_format_version` 3.0, one flat list per kind in topological
 * order, entities with their ids and defaults, references as `{id}`, timestamps and nulls
 * left out. Applying a dump back is a no-op.
 */
import {stringify} from 'yaml'
import {topologicalOrder} from '../schema/registry.js'
import {FORMAT_VERSION} from './format.js'
import type {State} from './state.js'

export function dumpState(state: State, selectTags: readonly string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {_format_version: FORMAT_VERSION}
  if (selectTags.length) out._info = {select_tags: [...selectTags]}
  for (const schema of topologicalOrder()) {
    const list = state[schema.name] ?? []
    if (!list.length) continue
    out[schema.name] = [...list].sort((a, b) => (a.id < b.id ? -1 : 1)).map((e) => {
      const row: Record<string, unknown> = {}
      for (const [name] of schema.fields) {
        if (name === 'created_at' || name === 'updated_at' || e[name] === null || e[name] === undefined) continue
        row[name] = e[name]
      }
      return row
    })
  }
  return out
}

export function dumpText(state: State, format: 'yaml' | 'json', selectTags: readonly string[] = []): string {
  const file = dumpState(state, selectTags)
  return format === 'json' ? `${JSON.stringify(file, null, 2)}\n` : stringify(file, {lineWidth: 0})
}
