/**
 * Validation and defaults, driven only by the schemas. Messages are Kong's, so errors
 * read the same as on a Kong node (`required field missing`, `expected an integer`, …).
 *
 *   input ──shorthands──► fields ──defaults (insert)──► coerce (forms) ──► check types
 *         and constraints ──► entity checks ──► normalize/derive ──► entity
 *
 * Field errors are a tree shaped like the entity: `{config: {minute: "…"}}`.
 */
import {randomUUID} from 'node:crypto'
import type {EntityFields, EntitySchema, Field, FieldList} from './field.js'

export type FieldErrors = {[key: string]: string | string[] | FieldErrors | Array<string | FieldErrors | null>}

export class SchemaViolation extends Error {
  constructor(readonly fields: FieldErrors) {
    super(violationMessage(fields))
    this.name = 'SchemaViolation'
  }
}

export interface ValidateOptions {
  /** Values came from a form body or query string: accept "1", "true", "a,b". */
  coerce?: boolean
  /** Fill defaults for absent fields (inserts and upserts; not partial updates). */
  defaults?: boolean
  /** Take and check the schema's transient fields too (the Admin API's); they stay in the result. */
  transient?: boolean
  /** Validates plugin `config` against its plugin schema (see runtime/plugins); `entity` holds the field. */
  checkJson?: (field: string, value: unknown, entity: EntityFields) => {value: unknown; errors?: FieldErrors | string}
}

/** Schemas by name, for checking a foreign key's fields; set by the schema registry. */
let lookupSchema: (name: string) => EntitySchema | undefined = () => undefined
export function setSchemaLookup(fn: (name: string) => EntitySchema | undefined): void {
  lookupSchema = fn
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
export const isUuid = (s: unknown): s is string => typeof s === 'string' && UUID_RE.test(s)

/**
 * `obj[k] = v` as an own property whatever `k` is: an input key named `__proto__` is a
 * field like any other (assigning it would set the object's prototype instead).
 */
function setOwn(obj: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(obj, k, {value: v, enumerable: true, writable: true, configurable: true})
}

// Per schema, built once: a data plane validates every entity of each configuration it gets.
const FIELD_NAMES = new WeakMap<FieldList, Set<string>>()
const NO_FIELDS: FieldList = []
const PATTERNS = new WeakMap<Field, RegExp>()

function fieldNames(fields: FieldList): Set<string> {
  let names = FIELD_NAMES.get(fields)
  if (!names) FIELD_NAMES.set(fields, (names = new Set(fields.map(([n]) => n))))
  return names
}

function pattern(f: Field & {match: string}): RegExp {
  let re = PATTERNS.get(f)
  if (!re) PATTERNS.set(f, (re = new RegExp(f.match, 'u')))
  return re
}

/** Validates an entity as it will be stored. Throws SchemaViolation with every error found. */
export function validateEntity(schema: EntitySchema, input: Record<string, unknown>, opts: ValidateOptions = {}): EntityFields {
  const errors: FieldErrors = {}
  const entity: EntityFields = {}
  const transient = opts.transient ? (schema.transient ?? NO_FIELDS) : NO_FIELDS
  const fields = fieldNames(schema.fields)
  const extra = fieldNames(transient)
  const known = {has: (k: string) => fields.has(k) || extra.has(k)}
  const shorthands = schema.shorthands
  for (const k in input) {
    const shorthand = shorthands !== undefined && Object.hasOwn(shorthands, k) ? shorthands[k] : undefined
    if (shorthand) {
      const v = input[k]
      if (v === null || v === undefined) continue
      const err = shorthand(v, entity, input)
      if (err) errors[k] = err
    } else if (!known.has(k)) {
      setOwn(errors, k, 'unknown field')
    }
  }
  for (const k in input) {
    const v = input[k]
    if (v !== undefined && known.has(k) && !(k in entity)) entity[k] = v
  }
  if (opts.defaults) {
    schema.defaults?.(entity)
    fillDefaults(schema.fields, entity)
  }
  const subschema = schema.subschema_check?.(entity)
  if (subschema) throw new SchemaViolation(subschema)
  checkFields(schema.fields, entity, errors, opts, '')
  checkFields(transient, entity, errors, opts, '')
  hoistEntityErrors(schema.fields, errors)
  if (Object.keys(errors).length === 0) {
    const entityErrors: string[] = []
    for (const check of schema.entity_checks ?? []) {
      const res = check(entity)
      if (!res) continue
      for (const [k, msg] of Object.entries(res)) {
        if (k === '@entity' && typeof msg === 'string') entityErrors.push(msg)
        else errors[k] = msg
      }
    }
    if (entityErrors.length) errors['@entity'] = entityErrors
  }
  if (Object.keys(errors).length) throw new SchemaViolation(errors)
  schema.normalize?.(entity)
  schema.derive?.(entity)
  return entity
}

/**
 * A json field's checker (a plugin's `config`) reports the checks over the whole config
 * under its `@entity`: they are the holding entity's, as Kong's plugin schemas declare
 * them (`entity_checks` of the plugin, `at least one of these fields must be non-empty:
 * 'config.allow', 'config.deny'` under the plugin's `@entity`).
 */
function hoistEntityErrors(fields: FieldList, errors: FieldErrors): void {
  for (const [name, f] of fields) {
    const e = f.type === 'json' && Object.hasOwn(errors, name) ? errors[name] : undefined
    if (e === null || typeof e !== 'object' || Array.isArray(e) || !Array.isArray(e['@entity'])) continue
    const {'@entity': hoisted, ...rest} = e
    errors['@entity'] = [...((errors['@entity'] as string[] | undefined) ?? []), ...(hoisted as string[])]
    if (Object.keys(rest).length) errors[name] = rest
    else delete errors[name]
  }
}

/** Fills defaults for absent fields; records are filled recursively, also when present. */
export function fillDefaults(fields: FieldList, entity: EntityFields): void {
  for (const [name, f] of fields) {
    if (entity[name] === undefined) {
      if (f.default !== undefined) entity[name] = structuredClone(f.default)
      else if (f.type === 'record' && !f.auto && hasDefaults(f.fields)) entity[name] = {}
      else if (!f.auto) entity[name] = null
    }
    const v = entity[name]
    if (f.type === 'record' && v && typeof v === 'object' && !Array.isArray(v)) fillDefaults(f.fields, v as EntityFields)
  }
}

function hasDefaults(fields: FieldList): boolean {
  return fields.some(([, f]) => f.default !== undefined || (f.type === 'record' && hasDefaults(f.fields)))
}

function checkFields(fields: FieldList, obj: EntityFields, errors: FieldErrors, opts: ValidateOptions, prefix: string): void {
  if (prefix) {
    const known = fieldNames(fields)
    for (const k of Object.keys(obj)) if (!known.has(k)) setOwn(errors, k, 'unknown field')
  }
  for (const [name, f] of fields) {
    if (f.auto && (obj[name] === undefined || obj[name] === null)) continue
    // a form's empty value is null, whatever the field's type (Kong's `infer_value`)
    if (opts.coerce && obj[name] === '') obj[name] = null
    let v = obj[name]
    if (v === undefined || v === null) {
      if (f.required) errors[name] = 'required field missing'
      continue
    }
    if (opts.coerce) v = obj[name] = coerce(f, v)
    const err = checkValue(f, v, opts, `${prefix}${name}`, obj)
    if (err !== null) errors[name] = err
    else if (f.type === 'set' && Array.isArray(v)) obj[name] = dedupe(v)
  }
}

function dedupe(arr: unknown[]): unknown[] {
  const seen = new Set<string>()
  return arr.filter((x) => {
    const k = JSON.stringify(x)
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
}

/** Form and query values arrive as strings; turn them into the field's type. */
export function coerce(f: Field, v: unknown): unknown {
  if (typeof v !== 'string') {
    if ((f.type === 'array' || f.type === 'set') && Array.isArray(v)) return v.map((x) => coerce(f.elements, x))
    if (f.type === 'record' && v && typeof v === 'object') {
      const o = v as Record<string, unknown>
      for (const [k, sub] of f.fields) if (k in o) o[k] = coerce(sub, o[k])
      return o
    }
    return v
  }
  switch (f.type) {
    case 'integer':
    case 'number':
      return v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v
    case 'boolean':
      return v === 'true' ? true : v === 'false' ? false : v
    case 'array':
    case 'set':
      return v.split(',').map((x) => coerce(f.elements, x))
    default:
      return v
  }
}

const TYPE_MSG: Record<string, string> = {
  string: 'expected a string',
  integer: 'expected an integer',
  number: 'expected a number',
  boolean: 'expected a boolean',
  array: 'expected an array',
  set: 'expected a set',
  map: 'expected a map',
  record: 'expected a record',
  foreign: 'expected a record',
}

const NUL_MSG = 'invalid value: must not contain a null byte (\\u0000)'

/** Where a NUL byte sits in a JSON value (a dotted path; '' for the value itself), or null. */
function nulPath(v: unknown, at = ''): string | null {
  if (typeof v === 'string') return v.includes('\0') ? at : null
  if (v === null || typeof v !== 'object') return null
  for (const [k, x] of Object.entries(v)) {
    const here = at ? `${at}.${k}` : k
    if (k.includes('\0')) return here
    const found = nulPath(x, here)
    if (found !== null) return found
  }
  return null
}

type ValueError = string | FieldErrors | Array<string | FieldErrors | null>

/** A JSON object (not an array, not null): what record, map and foreign fields hold. */
const isObject = (v: unknown): v is EntityFields => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Replaces the value `checkValue` was given, in the object or array that holds it, by `value`. */
function replaceIn(parent: EntityFields | unknown[], path: string, value: unknown): void {
  Reflect.set(parent, path.split('.').pop()!, value)
}

function checkValue(f: Field, v: unknown, opts: ValidateOptions, path: string, parent: EntityFields | unknown[]): ValueError | null {
  switch (f.type) {
    case 'string':
      if (typeof v !== 'string') return TYPE_MSG.string
      // Postgres stores no NUL in text or jsonb: refused here, not as a 500 from the database.
      if (v.includes('\0')) return NUL_MSG
      if (f.uuid && !isUuid(v)) return 'expected a valid UUID'
      if (f.len_min !== undefined && v.length < f.len_min) return `length must be at least ${f.len_min}`
      if (f.len_min === undefined && v.length === 0) return 'length must be at least 1'
      if (f.len_max !== undefined && v.length > f.len_max) return `length must be at most ${f.len_max}`
      if (f.starts_with !== undefined && !v.startsWith(f.starts_with)) return `should start with: ${f.starts_with}`
      if (f.match !== undefined && !pattern(f as Field & {match: string}).test(v)) return `invalid value: ${v}`
      break
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v)) return TYPE_MSG.integer
      break
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) return TYPE_MSG.number
      break
    case 'boolean':
      if (typeof v !== 'boolean') return TYPE_MSG.boolean
      break
    case 'array':
    case 'set': {
      if (!Array.isArray(v)) {
        if (v && typeof v === 'object' && Object.keys(v).length === 0) {
          replaceIn(parent, path, [])
          return null
        }
        return TYPE_MSG[f.type]
      }
      if (f.len_min !== undefined && v.length < f.len_min) return `length must be at least ${f.len_min}`
      const errs = v.map((x, i) => (x === null ? 'required field missing' : checkValue(f.elements, x, opts, `${path}.${i + 1}`, v)))
      // as Kong's JSON of a Lua table: no trailing nulls after the last element in error
      while (errs.length && errs[errs.length - 1] === null) errs.pop()
      if (errs.length) return errs as Array<string | FieldErrors | null>
      break
    }
    case 'map': {
      if (!isObject(v)) return TYPE_MSG.map
      const errs: FieldErrors = {}
      for (let [k, x] of Object.entries(v)) {
        const ke = checkValue(f.keys, k, opts, path, v)
        if (ke !== null) errs[k] = ke as string
        else {
          if (opts.coerce) v[k] = x = coerce(f.values, x)
          if (f.values.type === 'array' && typeof x === 'string') v[k] = x = [x]
          const ve = checkValue(f.values, x, opts, `${path}.${k}`, v)
          if (ve !== null) errs[k] = ve as string
        }
      }
      if (Object.keys(errs).length) return errs
      break
    }
    case 'record': {
      if (!isObject(v)) return TYPE_MSG.record
      const errs: FieldErrors = {}
      checkFields(f.fields, v, errs, opts, `${path}.`)
      if (Object.keys(errs).length) return errs
      break
    }
    case 'foreign': {
      if (!isObject(v)) return TYPE_MSG.foreign
      const keys = Object.keys(v)
      if (keys.length === 0) return {id: 'required field missing'}
      if (opts.coerce && v.id === '') v.id = null
      if ('id' in v && v.id !== null && !isUuid(v.id)) return {id: 'expected a valid UUID'}
      // the fields given are checked against the referenced entity's (Kong: `service.protocol: …`)
      const target = lookupSchema((f as Field & {reference: string}).reference)
      if (!target) break
      const errs: FieldErrors = {}
      for (const [name, sub] of target.fields) {
        if (opts.coerce && v[name] === '') v[name] = null
        if (name === 'id' || !(name in v) || v[name] === null || v[name] === undefined || sub.type === 'foreign') continue
        if (opts.coerce) v[name] = coerce(sub, v[name])
        const e = checkValue(sub, v[name], {...opts, checkJson: undefined}, `${path}.${name}`, v)
        if (e !== null) setOwn(errs, name, e)
      }
      if (Object.keys(errs).length) return errs
      break
    }
    case 'json': {
      const nul = nulPath(v)
      if (nul !== null) return nul ? `${NUL_MSG} (at ${nul})` : NUL_MSG
      if (opts.checkJson) {
        // the entity or record holding the field (json fields are not array elements)
        const res = opts.checkJson(path, v, Array.isArray(parent) ? {} : parent)
        if (res.errors) return res.errors
        replaceIn(parent, path, res.value)
      }
      return null
    }
  }
  if (f.one_of && !f.one_of.includes(v)) return `expected one of: ${f.one_of.join(', ')}`
  // between and gt constrain integer and number fields, whose type is checked above
  const n = v as number
  if (f.between && (n < f.between[0] || n > f.between[1])) return `value should be between ${f.between[0]} and ${f.between[1]}`
  if (f.gt !== undefined && !(n > f.gt)) return `value must be greater than ${f.gt}`
  if (f.custom) return f.custom(v)
  return null
}

/** Flattens an error tree into `path: message` pairs, Kong-style (`config.minute`). */
export function flattenErrors(fields: FieldErrors, prefix = ''): Array<[string, string]> {
  const out: Array<[string, string]> = []
  for (const [k, v] of Object.entries(fields)) {
    if (k === '@entity' && Array.isArray(v)) {
      for (const m of v) if (typeof m === 'string') out.push(['', m])
      continue
    }
    const path = prefix ? `${prefix}.${k}` : k
    if (typeof v === 'string') out.push([path, v])
    else if (Array.isArray(v)) {
      v.forEach((x, i) => {
        if (typeof x === 'string') out.push([`${path}.${i + 1}`, x])
        else if (x) out.push(...flattenErrors(x, `${path}.${i + 1}`))
      })
    } else if (v) out.push(...flattenErrors(v as FieldErrors, path))
  }
  return out
}

export function violationMessage(fields: FieldErrors): string {
  // Kong lists entity-level errors first, then fields in sorted order.
  const sorted: FieldErrors = {}
  if (fields['@entity']) sorted['@entity'] = fields['@entity']
  for (const k of Object.keys(fields).sort()) if (k !== '@entity') setOwn(sorted, k, fields[k])
  const flat = flattenErrors(sorted)
  const parts = flat.map(([p, m]) => (p ? `${p}: ${m}` : m)).join('; ')
  return flat.length === 1 ? `schema violation (${parts})` : `${flat.length} schema violations (${parts})`
}

export const newId = (): string => randomUUID()
export const nowSeconds = (): number => Math.floor(Date.now() / 1000)
/** Now, as `schema`'s timestamps keep it: whole seconds, or with milliseconds (`precision = 3`, targets). */
export function nowFor(schema: EntitySchema): number {
  const ms = schema.fields.some(([n, f]) => n === 'created_at' && 'precision' in f && f.precision === 3)
  return ms ? Date.now() / 1000 : nowSeconds()
}
