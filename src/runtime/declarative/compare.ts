/**
 * Equality as the diff sees it, so that re-applying a file is a no-op: timestamps are
 * ignored, absent equals null (and an empty list), sets (and lists of entity ids such as
 * `ca_certificates`) compare unordered, references compare by id.
 */
import type {EntitySchema, Field} from '../schema/field.js'

const IGNORED = new Set(['created_at', 'updated_at'])

/** A canonical form: equal canonical JSON ⇔ no change. */
export function canonical(schema: EntitySchema, entity: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, f] of schema.fields) {
    if (IGNORED.has(name)) continue
    const v = canonValue(f, entity[name])
    if (v !== undefined) out[name] = v
  }
  return out
}

const unordered = (f: Field): boolean => f.type === 'set' || (f.type === 'array' && f.elements.type === 'string' && Boolean(f.elements.uuid))

function canonValue(f: Field | undefined, v: unknown): unknown {
  if (v === null || v === undefined) return undefined
  if (f?.type === 'foreign') return (v as {id?: unknown}).id ?? v
  if (Array.isArray(v)) {
    if (v.length === 0) return undefined
    const el = f && (f.type === 'array' || f.type === 'set') ? f.elements : undefined
    const items = v.map((x) => canonValue(el, x) ?? null)
    return f && unordered(f) ? items.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)) : items
  }
  if (typeof v === 'object') {
    const sub = f?.type === 'record' ? new Map(f.fields.map(([k, x]) => [k, x])) : undefined
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(v as object).sort()) {
      const c = canonValue(sub?.get(k) ?? (f?.type === 'map' ? f.values : undefined), (v as Record<string, unknown>)[k])
      if (c !== undefined) out[k] = c
    }
    return Object.keys(out).length ? out : undefined
  }
  return v
}

/**
 * `next` as the gateway would store it over `old`: the schema's on-write transformation
 * applied to a copy. A basic-auth password in clear then compares equal to its stored
 * hash, so re-applying a file is a no-op while a changed password still shows (decK
 * ignores basic-auth passwords on diff altogether and warns instead).
 */
export function asStored<E extends Record<string, unknown>>(schema: EntitySchema, next: E, old: Record<string, unknown> | null): E {
  if (!schema.onWrite) return next
  const copy = {...next}
  try {
    schema.onWrite(copy, old)
  } catch {
    return next // not transformable here (an unresolved reference): compare as written
  }
  return copy
}

/**
 * A credential's `ttl` as the gateway shows it counts down (Kong's seconds left), so it
 * never equals the lifetime a file gives: `b`'s ttl is taken as `a`'s when both are set
 * and `a`'s is no longer (`lenient`: either way round, for two reads of one entity). A
 * file's ttl shorter than the time left, or one added or removed, still shows.
 */
function countingDown<E extends Record<string, unknown>>(a: Record<string, unknown>, b: E, lenient: boolean): E {
  const [x, y] = [a.ttl, b.ttl]
  if (typeof x !== 'number' || typeof y !== 'number' || x <= 0 || y <= 0 || x === y) return b
  return x <= y || lenient ? {...b, ttl: x} : b
}

/**
 * Whether writing `next` over `old` changes nothing. `transform` false: `next` is stored
 * as written (a `_transform: false` file), so it compares as it is.
 */
export const unchanged = (schema: EntitySchema, old: Record<string, unknown>, next: Record<string, unknown>, transform = true): boolean =>
  sameCanonical(schema, old, countingDown(old, transform ? asStored(schema, next, old) : next, false))

/** `a` and `b` are one entity read twice (a ttl read at two moments, or stored and shown, compares equal). */
export const sameEntity = (schema: EntitySchema, a: Record<string, unknown>, b: Record<string, unknown>): boolean => sameCanonical(schema, a, countingDown(a, b, true))

const sameCanonical = (schema: EntitySchema, a: Record<string, unknown>, b: Record<string, unknown>): boolean => JSON.stringify(canonical(schema, a)) === JSON.stringify(canonical(schema, b))

export interface FieldChange {
  field: string
  old: unknown
  new: unknown
}

/** Top-level fields that differ (records and plugin config one level deeper); `transform` as in `unchanged`. */
export function changedFields(schema: EntitySchema, old: Record<string, unknown>, next: Record<string, unknown>, transform = true): FieldChange[] {
  const a = canonical(schema, old)
  const b = canonical(schema, countingDown(old, transform ? asStored(schema, next, old) : next, false))
  const out: FieldChange[] = []
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[key]
    const y = b[key]
    if (JSON.stringify(x) === JSON.stringify(y)) continue
    if (isMap(x) && isMap(y)) {
      for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) {
        if (JSON.stringify(x[k]) !== JSON.stringify(y[k])) out.push({field: `${key}.${k}`, old: x[k] ?? null, new: y[k] ?? null})
      }
    } else out.push({field: key, old: x ?? null, new: y ?? null})
  }
  return out
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)
