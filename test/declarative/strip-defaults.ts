/** Removes every field whose value equals the schema default, nested entities included (for corpus file 19). */
import {getSchema} from '../../src/runtime/schema/registry.js'

export function stripDefaults(file: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = {...file}
  for (const [kind, list] of Object.entries(file)) if (getSchema(kind) && Array.isArray(list)) out[kind] = list.map((e) => stripEntity(kind, e))
  return out
}

function stripEntity(kind: string, e: Record<string, any>): Record<string, any> {
  const schema = getSchema(kind)!
  const out: Record<string, any> = {}
  for (const [k, v] of Object.entries(e)) {
    const nested = schema.nested?.find((n) => n.key === k)
    if (nested && Array.isArray(v)) out[k] = v.map((c) => stripEntity(nested.entity, c))
    else {
      const f = schema.fields.find(([n]) => n === k)?.[1]
      if (f?.default === undefined || JSON.stringify(f.default) !== JSON.stringify(v)) out[k] = v
    }
  }
  return out
}
