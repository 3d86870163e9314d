/**
 * Natural keys of an entity, read from its schema: the endpoint key (`name`, `username`),
 * unique fields, then `unique_together` groups. They match file entries without ids to
 * existing entities (so re-applies keep ids) and detect duplicates in the files.
 */
import type {EntitySchema} from '../schema/field.js'
import {foreignId} from '../schema/registry.js'

export function naturalKeys(schema: EntitySchema): string[][] {
  const keys: string[][] = []
  const add = (k: string[]) => {
    if (!keys.some((x) => x.join() === k.join())) keys.push(k)
  }
  if (schema.endpoint_key) add([schema.endpoint_key])
  for (const [name, f] of schema.fields) if (f.unique && name !== 'id') add([name])
  for (const g of schema.unique_together ?? []) add([...g])
  return keys
}

/** The key's value as a string, or undefined when the entity does not set it. */
export function keyValue(schema: EntitySchema, key: readonly string[], entity: Record<string, unknown>): string | undefined {
  const values: unknown[] = []
  for (const name of key) {
    const f = schema.fields.find(([n]) => n === name)?.[1]
    let v = entity[name] ?? null
    if (f?.type === 'foreign') v = foreignId(v) ?? null
    // A null reference is part of a group key (a global plugin); a null plain field is no key.
    else if (v === null) return undefined
    values.push(v)
  }
  return JSON.stringify(values)
}

/** `name 'svc1'` / `name, route, service, consumer ("x", null, …)` for messages. */
export function describeKey(key: readonly string[], value: string): string {
  const values = JSON.parse(value) as unknown[]
  return key.length === 1 ? `${key[0]} set to '${String(values[0])}'` : `(${key.join(', ')}) set to (${values.map((v) => (v === null ? 'null' : String(v))).join(', ')})`
}
