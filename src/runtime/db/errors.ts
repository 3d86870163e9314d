/**
 * Kong's error envelope (`kong/db/errors.lua`): the same codes, names and message shapes,
 * and one table that maps a code to its HTTP status for the Admin API.
 */
import {violationMessage, type FieldErrors} from '../schema/validate.js'

export const ErrorCode = {
  INVALID_PRIMARY_KEY: 1,
  SCHEMA_VIOLATION: 2,
  PRIMARY_KEY_VIOLATION: 3,
  FOREIGN_KEY_VIOLATION: 4,
  UNIQUE_VIOLATION: 5,
  NOT_FOUND: 6,
  INVALID_OFFSET: 7,
  DATABASE_ERROR: 8,
  INVALID_SIZE: 9,
  INVALID_UNIQUE: 10,
  INVALID_OPTIONS: 11,
  OPERATION_UNSUPPORTED: 12,
  FOREIGN_KEYS_UNRESOLVED: 13,
  DECLARATIVE_CONFIG: 14,
  /** kctl's: a declarative apply found the gateway changed since its diff. */
  SYNC_CONFLICT: 15,
  /** Kong's: an entity others still point at (a CA certificate listed by a service). */
  REFERENCED_BY_OTHERS: 19,
} as const
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode]

const NAMES: Record<number, string> = {
  1: 'invalid primary key',
  2: 'schema violation',
  3: 'primary key violation',
  4: 'foreign key violation',
  5: 'unique constraint violation',
  6: 'not found',
  7: 'invalid offset',
  8: 'database error',
  9: 'invalid size',
  10: 'invalid unique',
  11: 'invalid options',
  12: 'operation unsupported',
  13: 'foreign keys unresolved',
  14: 'invalid declarative configuration',
  15: 'configuration conflict',
  19: 'referenced by others',
}

/** code → HTTP status, the one place the Admin API looks this up (a primary-key conflict is a 409 as on Kong, whose database strategy reports it as a unique one). */
export const HTTP_STATUS: Record<number, number> = {1: 400, 2: 400, 3: 409, 4: 400, 5: 409, 6: 404, 7: 400, 8: 500, 9: 400, 10: 400, 11: 400, 12: 405, 13: 400, 14: 400, 15: 409, 19: 400}

export class GatewayError extends Error {
  constructor(
    readonly code: ErrorCodeValue,
    message: string,
    readonly fields?: Record<string, unknown>,
  ) {
    super(message)
    this.name = NAMES[code]
  }

  get status(): number {
    return HTTP_STATUS[this.code] ?? 500
  }

  toJSON(): Record<string, unknown> {
    return {code: this.code, name: this.name, message: this.message, ...(this.fields ? {fields: this.fields} : {})}
  }
}

/** Lua-table rendering used in Kong's messages: `{name="foo"}`. */
export function luaPretty(v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (typeof v === 'string') return `"${v}"`
  if (typeof v !== 'object') return String(v)
  if (Array.isArray(v)) {
    // as penlight's pretty.write over a Lua table with holes: the sequence up to the first
    // hole by position, the rest by index (`{[2]="…"}`)
    const hole = v.findIndex((x) => x === null || x === undefined)
    if (hole === -1) return `{${v.map(luaPretty).join(',')}}`
    const rest = v.map((x, i) => [i, x] as const).slice(hole).filter(([, x]) => x !== null && x !== undefined)
    return `{${[...v.slice(0, hole).map(luaPretty), ...rest.map(([i, x]) => `[${i + 1}]=${luaPretty(x)}`)].join(',')}}`
  }
  const keys = Object.keys(v).sort()
  return `{${keys.map((k) => `${k}=${luaPretty((v as Record<string, unknown>)[k])}`).join(',')}}`
}

export const schemaViolation = (fields: FieldErrors) => new GatewayError(ErrorCode.SCHEMA_VIOLATION, violationMessage(fields), fields)
export const uniqueViolation = (key: Record<string, unknown>) =>
  new GatewayError(ErrorCode.UNIQUE_VIOLATION, `UNIQUE violation detected on '${luaPretty(key)}'`, key)
export const foreignKeyInvalid = (key: Record<string, unknown>, field: string, parent: string) =>
  new GatewayError(ErrorCode.FOREIGN_KEY_VIOLATION, `the foreign key '${luaPretty(key)}' does not reference an existing '${parent}' entity.`, {[field]: key})
/** Kong's code 13: a foreign key given by its endpoint key (`service: {name: "x"}`) that names no entity. */
export function foreignKeysUnresolved(field: string, key: Record<string, unknown>, parent: string): GatewayError {
  const [k] = Object.keys(key)
  const msg = `the foreign key cannot be resolved with '${luaPretty(key)}' for an existing '${parent}' entity`
  return new GatewayError(ErrorCode.FOREIGN_KEYS_UNRESOLVED, `foreign key unresolved (${field}.${k}: ${msg})`, {[field]: {[k]: msg}})
}
export const foreignKeyRestricted = (parent: string, child: string) =>
  new GatewayError(ErrorCode.FOREIGN_KEY_VIOLATION, `an existing '${child}' entity references this '${parent}' entity`, {'@referenced_by': child})
export const notFound = (pk: Record<string, unknown>) =>
  new GatewayError(ErrorCode.NOT_FOUND, `could not find the entity with primary key '${luaPretty(pk)}'`, pk)
export const invalidOffset = (offset: string) =>
  new GatewayError(ErrorCode.INVALID_OFFSET, `'${offset}' is not a valid offset: bad base64 encoding`)
/** Kong's code 10: a unique key in a URL that no entity could have (`PUT /upstreams/1.2.3.4`). */
export function invalidUnique(field: string, msg: string): GatewayError {
  const e = new GatewayError(ErrorCode.INVALID_UNIQUE, msg)
  e.name = `invalid unique ${field}`
  return e
}
export const invalidSize = (msg: string) => new GatewayError(ErrorCode.INVALID_SIZE, msg)
export const invalidOptions = (fields: Record<string, string>) =>
  new GatewayError(ErrorCode.INVALID_OPTIONS, `invalid option (${Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join(', ')})`, fields)
export const referencedByOthers = (msg: string) => new GatewayError(ErrorCode.REFERENCED_BY_OTHERS, msg)
export const databaseError = (msg: string) => new GatewayError(ErrorCode.DATABASE_ERROR, msg)
