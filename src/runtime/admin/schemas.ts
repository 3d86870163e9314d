/** `/schemas/{entity}`: the schema as data, in Kong's shape (`{fields: [{name: {...}}]}`). */
import type {EntitySchema, Field, FieldList} from '../schema/field.js'

function describeField(f: Field): Record<string, unknown> {
  const out: Record<string, unknown> = {type: f.type === 'json' ? 'record' : f.type}
  const copy = ['required', 'default', 'auto', 'unique', 'one_of', 'between', 'gt', 'len_min', 'len_max', 'match', 'starts_with', 'uuid', 'timestamp', 'description', 'immutable', 'encrypted'] as const
  for (const k of copy) if (f[k] !== undefined) out[k] = f[k]
  if (f.type === 'array' || f.type === 'set') out.elements = describeField(f.elements)
  if (f.type === 'map') {
    out.keys = describeField(f.keys)
    out.values = describeField(f.values)
  }
  if (f.type === 'record') out.fields = describeFields(f.fields)
  if (f.type === 'foreign') {
    out.reference = f.reference
    if (f.on_delete) out.on_delete = f.on_delete
  }
  return out
}

export const describeFields = (fields: FieldList) => fields.map(([name, f]) => ({[name]: describeField(f)}))

/** A transient field is described with `transient: true`, as Kong's. */
const transientField = (d: Record<string, Record<string, unknown>>) => Object.fromEntries(Object.entries(d).map(([n, f]) => [n, {...f, transient: true}]))

export function describeSchema(s: EntitySchema): Record<string, unknown> {
  return {
    name: s.name,
    primary_key: ['id'],
    ...(s.endpoint_key ? {endpoint_key: s.endpoint_key} : {}),
    fields: [...describeFields(s.fields), ...describeFields(s.transient ?? []).map(transientField)],
  }
}
