/**
 * Where entities nest in a declarative file: each schema's own `nested` list, plus every
 * entity that is owned by it (a required foreign key that cascades on delete) under its
 * own name, as Kong's declarative schema derives them. That is how a plugin's credential
 * entities (`keyauth_credentials`, `basicauth_credentials`, `acls`) nest in consumers
 * without the consumers schema knowing the plugins.
 */
import type {EntitySchema} from '../schema/field.js'
import {referencing} from '../schema/registry.js'

export interface Nesting {
  /** Key in the parent (`routes`). */
  key: string
  /** Child entity (`routes`). */
  entity: string
  /** The child's foreign field to the parent (`service`). */
  via: string
}

const cache = new Map<string, Nesting[]>()

export function nestedOf(schema: EntitySchema): readonly Nesting[] {
  let list = cache.get(schema.name)
  if (list) return list
  list = [...(schema.nested ?? [])]
  for (const r of referencing(schema.name)) {
    const owned = r.field_def.required && r.field_def.on_delete === 'cascade'
    if (owned && !list.some((n) => n.entity === r.schema.name)) list.push({key: r.schema.name, entity: r.schema.name, via: r.field})
  }
  cache.set(schema.name, list)
  return list
}
