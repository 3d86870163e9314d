/**
 * What request-transformer and response-transformer share, kept in the PDK so neither
 * plugin imports the other: Kong's `name:value` list fields and the order Kong applies them in (remove ▸ rename ▸ replace ▸ add ▸ append)
 * over any name → value store (headers, query, form or JSON body).
 */
import type {Field} from '../schema/field.js'
import {headerName} from './typedefs.js'

/** Kong's check on `name:value` elements. */
const pairCheck = (v: string): string | null => (v.includes(':') ? null : `key '${v}' has no value`)
const headerPairCheck = (v: string): string | null => pairCheck(v) ?? (headerName().custom as (x: string) => string | null)(v.slice(0, v.indexOf(':')))

export const strings = (): Field => ({type: 'array', required: true, default: [], elements: {type: 'string'}})
export const headerNames = (): Field => ({type: 'array', required: true, default: [], elements: headerName()})
export const pairs = (): Field => ({type: 'array', required: true, default: [], elements: {type: 'string', custom: pairCheck}})
export const headerPairs = (): Field => ({type: 'array', required: true, default: [], elements: {type: 'string', custom: headerPairCheck}})
export const record = (fields: Array<readonly [string, Field]>): Field => ({type: 'record', required: true, fields} as Field)

/** `name:value` split at the first colon. */
export function splitPair(s: string): [string, string] {
  const i = s.indexOf(':')
  return [s.slice(0, i), s.slice(i + 1)]
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
export const hasOps = (conf: any, part: string): boolean =>
  ['remove', 'rename', 'replace', 'add', 'append'].some((op) => conf[op]?.[part]?.length > 0)

/** Ops of `conf` for one part. */
export const opsFor = (conf: any, part: string): Ops => ({
  remove: conf.remove?.[part],
  rename: conf.rename?.[part],
  replace: conf.replace?.[part],
  add: conf.add?.[part],
  append: conf.append?.[part],
})

/** A header/query/form store of strings; appends make lists. */
export const appendString = (old: string | string[] | undefined, v: string | string[]): string | string[] =>
  old === undefined ? v : [...(Array.isArray(old) ? old : [old]), ...(Array.isArray(v) ? v : [v])]

/** A plain object (a parsed JSON body) as a store; appends are the caller's choice. */
export const objectStore = (obj: Record<string, unknown>): Store<any> => ({
  get: (n) => (Object.hasOwn(obj, n) ? obj[n] : undefined),
  set: (n, v) => void (obj[n] = v),
  remove: (n) => void delete obj[n],
})
