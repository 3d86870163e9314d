/**
 * What request-transformer and response-transformer share, kept in the PDK so neither
 * plugin imports the other: Kong's `name:value` list fields and the order Kong applies them in (remove ▸ rename ▸ replace ▸ add ▸ append)
 * over any name → value store (headers, query, form or JSON body).
 */
import type {Field, FieldList} from '../schema/field.js'


export const strings = () => ({type: 'array', required: true, default: [], elements: {type: 'string'}}) as const satisfies Field
export const record = <const L extends FieldList>(fields: L) => ({type: 'record', required: true, fields}) as const

/** A transformer's config as the operations read it: per operation, a list per part (`headers`, `body`…). */
export type OpsConfig = Partial<Record<'remove' | 'rename' | 'replace' | 'add' | 'append', Readonly<Record<string, unknown>> | null>>

const listOf = (conf: OpsConfig, op: keyof OpsConfig, part: string): string[] | undefined => {
  const v = conf[op]?.[part]
  return Array.isArray(v) ? v : undefined
}

/** `name:value` split as Kong's `^([^:]+):*(.-)$`: the colons after the name all go (`a::b` is a, b). */
export function splitPair(s: string): [string, string] {
  const i = s.indexOf(':')
  if (i < 0) return [s, '']
  let j = i
  while (s[j] === ':') j++
  return [s.slice(0, i), s.slice(j)]
}

/** A name → value store the operations work on. */
export interface Store<V> {
  get(name: string): V | undefined
  set(name: string, value: V): void
  remove(name: string): void
}

export interface Ops {
  remove?: string[]
  rename?: string[]
  replace?: string[]
  add?: string[]
  append?: string[]
}

/**
 * Applies Kong's operations in Kong's order. `make` turns the configured string (and its
 * position, for json_types) into a value; `appendTo` merges an appended value.
 */
export function applyOps<V>(s: Store<V>, ops: Ops, make: (v: string, i: number) => V, appendTo: (old: V | undefined, v: V) => V): void {
  for (const name of ops.remove ?? []) s.remove(name)
  for (const p of ops.rename ?? []) {
    const [from, to] = splitPair(p)
    const v = s.get(from)
    if (v === undefined) continue
    s.remove(from)
    s.set(to, v)
  }
  ;(ops.replace ?? []).forEach((p, i) => {
    const [name, v] = splitPair(p)
    if (s.get(name) !== undefined) s.set(name, make(v, i))
  })
  ;(ops.add ?? []).forEach((p, i) => {
    const [name, v] = splitPair(p)
    if (s.get(name) === undefined) s.set(name, make(v, i))
  })
  ;(ops.append ?? []).forEach((p, i) => {
    const [name, v] = splitPair(p)
    s.set(name, appendTo(s.get(name), make(v, i)))
  })
}

/** Whether any operation is configured for `part` (body, headers, json…). */
export const hasOps = (conf: OpsConfig, part: string): boolean =>
  (['remove', 'rename', 'replace', 'add', 'append'] as const).some((op) => (listOf(conf, op, part)?.length ?? 0) > 0)

/** Ops of `conf` for one part. */
export const opsFor = (conf: OpsConfig, part: string): Ops => ({
  remove: listOf(conf, 'remove', part),
  rename: listOf(conf, 'rename', part),
  replace: listOf(conf, 'replace', part),
  add: listOf(conf, 'add', part),
  append: listOf(conf, 'append', part),
})

/** A header/query/form store of strings; appends make lists. */
export const appendString = (old: string | string[] | undefined, v: string | string[]): string | string[] =>
  old === undefined ? v : [...(Array.isArray(old) ? old : [old]), ...(Array.isArray(v) ? v : [v])]

/** A plain object (a parsed JSON body) as a store; appends are the caller's choice. */
export const objectStore = (obj: Record<string, unknown>): Store<unknown> => ({
  get: (n) => (Object.hasOwn(obj, n) ? obj[n] : undefined),
  set: (n, v) => void (obj[n] = v),
  remove: (n) => void delete obj[n],
})
