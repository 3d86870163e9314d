/**
 * A generic DAO over one entity table, driven by its schema. Every write runs in a
 * transaction and notifies `CONFIG_CHANNEL` so that every node reading this database
 * rebuilds its configuration. Postgres enforces unique and foreign keys; its errors are
 * mapped to Kong's (409 unique, 400 foreign key) by the constraint names from ddl.ts.
 */
import type pg from 'pg'
import {
  foreignKeyInvalid,
  foreignKeyRestricted,
  GatewayError,
  ErrorCode,
  invalidOffset,
  invalidSize,
  notFound,
  schemaViolation,
  uniqueViolation,
  foreignKeysUnresolved,
  referencedByOthers,
} from './errors.js'
import type {EntitySchema, ForeignField} from '../schema/field.js'
import {ENTITIES, foreignId, foreignKeys, getSchema, type EntityRecord} from '../schema/registry.js'
import {isUuid, newId, nowFor, SchemaViolation, validateEntity, type FieldErrors, type ValidateOptions} from '../schema/validate.js'
import {INVALID_TARGET, validTarget} from '../schema/entities/targets.js'
import {column, constraintFields, ident, quotedColumn} from './ddl.js'
import {inTransaction} from './pool.js'

export const CONFIG_CHANNEL = 'kctl_config'
const CONSTRAINTS = constraintFields(ENTITIES)

export interface PageOptions {
  size?: number
  offset?: string
  tags?: string[]
  /** true: entities having every tag; false: any of them. */
  tagsAll?: boolean
  /** Restrict to children of a parent: `{service: '<uuid>'}`. */
  where?: Record<string, string>
}
export interface Page {
  data: EntityRecord[]
  offset: string | null
}
export interface WriteOptions {
  coerce?: boolean
  /** Validates plugin config (runtime/plugins). */
  checkJson?: ValidateOptions['checkJson']
  /** Checks the schema's transient fields given (the Admin API's); no column stores them. */
  transient?: boolean
  /** More writes in the same transaction, once the entity is written (a certificate's snis). */
  also?: (c: pg.PoolClient, saved: EntityRecord) => Promise<void>
}

export class Dao {
  private readonly cols: string
  /**
   * For entities with a `ttl` (seconds from `created_at`, as key-auth credentials): the
   * condition a row must meet to be seen. As in Kong, an expired row is gone from the
   * Admin API (its lists, its GET, its lookups) even before it is swept.
   */
  private readonly live: string | null
  constructor(
    readonly pool: pg.Pool,
    readonly schema: EntitySchema,
  ) {
    this.cols = schema.fields.map(([n, f]) => quotedColumn(n, f)).join(', ')
    this.live = schema.fields.some(([n]) => n === 'ttl') ? '(ttl IS NULL OR ttl = 0 OR created_at + ttl > extract(epoch from now()))' : null
  }

  rowToEntity(row: Record<string, unknown>): EntityRecord {
    const e: Record<string, unknown> = {}
    for (const [name, f] of this.schema.fields) {
      const v = row[column(name, f)]
      e[name] = f.type === 'foreign' ? (v == null ? null : {id: v}) : v ?? null
    }
    return e as EntityRecord
  }

  async page(o: PageOptions = {}): Promise<Page> {
    const size = o.size ?? 100
    if (!Number.isInteger(size) || size < 1 || size > 1000) throw invalidSize('size must be an integer between 1 and 1000')
    const params: unknown[] = []
    const where: string[] = []
    if (o.offset !== undefined) {
      const last = Buffer.from(o.offset, 'base64url').toString()
      if (!isUuid(last)) throw invalidOffset(o.offset)
      params.push(last)
      where.push(`id > $${params.length}`)
    }
    if (o.tags?.length) {
      params.push(o.tagsAll === false ? o.tags : JSON.stringify(o.tags))
      where.push(o.tagsAll === false ? `tags ?| $${params.length}::text[]` : `tags @> $${params.length}::jsonb`)
    }
    for (const [field, id] of Object.entries(o.where ?? {})) {
      params.push(id)
      where.push(`${ident(`${field}_id`)} = $${params.length}`)
    }
    if (this.live) where.push(this.live)
    params.push(size + 1)
    const sql = `SELECT ${this.cols} FROM ${this.schema.name}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT $${params.length}`
    const res = await this.pool.query(sql, params)
    const rows = res.rows.slice(0, size).map((r) => this.rowToEntity(r))
    const more = res.rows.length > size
    return {data: rows, offset: more ? Buffer.from(rows[rows.length - 1].id).toString('base64url') : null}
  }

  /** Every live row under one parent (`{field: 'upstream', id}`), ordered by id. */
  async under(parent: {field: string; id: string}): Promise<EntityRecord[]> {
    const res = await this.pool.query(`SELECT ${this.cols} FROM ${this.schema.name} WHERE ${ident(`${parent.field}_id`)} = $1${this.live ? ` AND ${this.live}` : ''} ORDER BY id`, [parent.id])
    return res.rows.map((r) => this.rowToEntity(r))
  }

  /** Every row, ordered by id: for building a node's configuration. */
  async all(client: pg.Pool | pg.PoolClient = this.pool): Promise<EntityRecord[]> {
    const res = await client.query(`SELECT ${this.cols} FROM ${this.schema.name} ORDER BY id`)
    return res.rows.map((r) => this.rowToEntity(r))
  }

  /** The row whose `field` is `value`, under the parent `where` (`{upstream: '<uuid>'}`) when given. */
  async findBy(field: string, value: unknown, where: Record<string, string> = {}): Promise<EntityRecord | null> {
    const params: unknown[] = [value]
    const conds = [`${ident(field)} = $1`]
    for (const [parent, id] of Object.entries(where)) {
      params.push(id)
      conds.push(`${ident(`${parent}_id`)} = $${params.length}`)
    }
    if (this.live) conds.push(this.live)
    const res = await this.pool.query(`SELECT ${this.cols} FROM ${this.schema.name} WHERE ${conds.join(' AND ')} ORDER BY id LIMIT 1`, params)
    return res.rows[0] ? this.rowToEntity(res.rows[0]) : null
  }

  /** Finds by id, or by the endpoint key (`name`, `username`) when `key` is not a uuid. */
  async select(key: string, client: pg.Pool | pg.PoolClient = this.pool): Promise<EntityRecord | null> {
    const by = isUuid(key) || !this.schema.endpoint_key ? 'id' : this.schema.endpoint_key
    if (by === 'id' && !isUuid(key)) return null
    const res = await client.query(`SELECT ${this.cols} FROM ${this.schema.name} WHERE ${ident(by)} = $1${this.live ? ` AND ${this.live}` : ''}`, [key])
    return res.rows[0] ? this.rowToEntity(res.rows[0]) : null
  }

  async insert(input: Record<string, unknown>, o: WriteOptions = {}): Promise<EntityRecord> {
    return this.writeEntity((c) => this.insertIn(c, input, o), o)
  }

  /** `insert` inside the transaction `c` of a write of another entity (its `also`). */
  async insertIn(c: pg.PoolClient, input: Record<string, unknown>, o: WriteOptions = {}): Promise<EntityRecord> {
    const e = await this.prepare(c, {...input}, o, null)
    const now = nowFor(this.schema)
    e.id ??= newId()
    e.created_at ??= now
    e.updated_at = now
    return this.insertRow(c, e)
  }

  /** PATCH: merges `patch` into the stored entity. */
  async update(key: string, patch: Record<string, unknown>, o: WriteOptions = {}): Promise<EntityRecord> {
    return this.writeEntity(async (c) => {
      const old = await this.select(key, c)
      if (!old) throw notFound(isUuid(key) ? {id: key} : {[this.schema.endpoint_key!]: key})
      const merged = mergeRecords(this.schema, old, patch)
      delete merged.updated_at
      const e = await this.prepare(c, merged, o, old)
      e.id = old.id
      e.created_at = old.created_at
      e.updated_at = nowFor(this.schema)
      if (patch.ttl !== undefined) this.rebaseTtl(e)
      return this.updateRow(c, e)
    }, o)
  }

  /** PUT: the entity becomes exactly `input` (+ defaults), created when absent. */
  async upsert(key: string, input: Record<string, unknown>, o: WriteOptions = {}): Promise<EntityRecord> {
    return this.writeEntity(async (c) => {
      const old = await this.select(key, c)
      const body = {...input}
      if (isUuid(key)) body.id = key
      else if (this.schema.endpoint_key) body[this.schema.endpoint_key] = key
      if (old) body.id = old.id
      const e = await this.prepare(c, body, o, old)
      const now = nowFor(this.schema)
      e.id ??= newId()
      e.created_at = old?.created_at ?? e.created_at ?? now
      e.updated_at = now
      if (old) this.rebaseTtl(e)
      return old ? this.updateRow(c, e) : this.insertRow(c, e)
    }, o)
  }

  /**
   * A `ttl` written on an update counts from the write, as Kong's (its expiry is
   * `updated_at + ttl`); it is stored, as on creation, in seconds from `created_at`.
   */
  private rebaseTtl(e: Record<string, unknown>): void {
    if (!this.live || typeof e.ttl !== 'number' || e.ttl <= 0) return
    e.ttl += (e.updated_at as number) - (e.created_at as number)
  }

  /** Deletes by id or endpoint key; returns false when nothing matched. */
  async delete(key: string): Promise<boolean> {
    return this.write((c) => this.deleteIn(c, key))
  }

  /** `delete` inside the transaction `c` of a write of another entity (its `also`). */
  async deleteIn(c: pg.PoolClient, key: string): Promise<boolean> {
    const old = await this.select(key, c)
    if (!old) return false
    await this.checkNotReferenced(c, old.id)
    await c.query(`DELETE FROM ${this.schema.name} WHERE id = $1`, [old.id])
    return true
  }

  /**
   * Kong's `check_ca_reference`: an entity listed by id in another's array field named
   * after it (`services.ca_certificates`) is not deleted while listed.
   */
  private async checkNotReferenced(c: pg.PoolClient, id: string): Promise<void> {
    for (const other of ENTITIES) {
      for (const [name, f] of other.fields) {
        if (name !== this.schema.name || f.type !== 'array' || !f.elements.uuid) continue
        const res = await c.query(`SELECT id FROM ${other.name} WHERE ${quotedColumn(name, f)} @> $1::jsonb ORDER BY id LIMIT 1`, [JSON.stringify([id])])
        if (res.rows[0]) throw referencedByOthers(`${this.schema.singular.replace('_', ' ')} ${id} is still referenced by ${other.name} (id = ${res.rows[0].id})`)
      }
    }
  }

  /** Writes an entity (`write`), then what `o.also` adds, in the same transaction. */
  private writeEntity(fn: (c: pg.PoolClient) => Promise<EntityRecord>, o: WriteOptions): Promise<EntityRecord> {
    return this.write(async (c) => {
      const saved = await fn(c)
      await o.also?.(c, saved)
      return saved
    })
  }

  /** Runs a write in a transaction with a config-change notification; maps pg errors. */
  private async write<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    try {
      return await inTransaction(this.pool, async (c) => {
        const out = await fn(c)
        // `<entity>:<version>`: the configuration version this transaction made (sync-deltas.ts),
        // so a node that has it already (it made the write) need not read again
        await c.query(`SELECT pg_notify($1, $2 || ':' || coalesce(current_setting('kctl.sync_version', true), ''))`, [CONFIG_CHANNEL, this.schema.name])
        return out
      })
    } catch (err) {
      throw mapPgError(err, this.schema)
    }
  }

  /** Validates, fills defaults and resolves foreign keys given by endpoint key. */
  private async prepare(c: pg.PoolClient, input: Record<string, unknown>, o: WriteOptions, old: EntityRecord | null): Promise<Record<string, unknown>> {
    // Kong keeps a `created_at` given for a new entity (validated as the field), never
    // one given for an entity that exists; `updated_at` is always the time of the write
    if (old !== null || input.created_at === null) delete input.created_at
    delete input.updated_at
    let e: Record<string, unknown>
    try {
      e = validateEntity(this.schema, input, {defaults: true, coerce: o.coerce, checkJson: o.checkJson, transient: o.transient})
    } catch (err) {
      if (err instanceof SchemaViolation) throw schemaViolation(this.schema.name === 'targets' ? targetDaoFields(err.fields, input) : err.fields)
      throw err
    }
    for (const [name, f] of foreignKeys(this.schema)) await this.resolveForeign(c, e, name, f)
    this.schema.onWrite?.(e, old)
    return e
  }

  private async resolveForeign(c: pg.PoolClient, e: Record<string, unknown>, name: string, f: ForeignField): Promise<void> {
    const ref = e[name] as Record<string, unknown> | null | undefined
    if (ref == null || ref.id) return
    const parent = getSchema(f.reference)!
    const key = parent.endpoint_key
    const value = key ? ref[key] : undefined
    // Kong: a reference with neither id nor endpoint key names nothing
    if (value === undefined || value === null) throw schemaViolation({[name]: {id: 'missing primary key'}})
    const res = await c.query(`SELECT id FROM ${parent.name} WHERE ${ident(key!)} = $1`, [value])
    if (!res.rows[0]) throw foreignKeysUnresolved(name, {[key!]: value}, parent.name)
    e[name] = {id: res.rows[0].id}
  }

  private values(e: Record<string, unknown>): unknown[] {
    return this.schema.fields.map(([n, f]) => {
      const v = e[n]
      if (v === undefined || v === null) return null
      if (f.type === 'foreign') return foreignId(v) ?? null
      if (f.type === 'string' || f.type === 'integer' || f.type === 'number' || f.type === 'boolean') return v
      return JSON.stringify(v)
    })
  }

  private async insertRow(c: pg.PoolClient, e: Record<string, unknown>): Promise<EntityRecord> {
    const vals = this.values(e)
    const ph = vals.map((_, i) => `$${i + 1}`).join(', ')
    const res = await c.query(`INSERT INTO ${this.schema.name} (${this.cols}) VALUES (${ph}) RETURNING ${this.cols}`, vals)
    return this.rowToEntity(res.rows[0])
  }

  private async updateRow(c: pg.PoolClient, e: Record<string, unknown>): Promise<EntityRecord> {
    const vals = this.values(e)
    const sets = this.schema.fields.map(([n, f], i) => `${quotedColumn(n, f)} = $${i + 1}`).join(', ')
    const res = await c.query(`UPDATE ${this.schema.name} SET ${sets} WHERE id = $1 RETURNING ${this.cols}`, vals)
    return this.rowToEntity(res.rows[0])
  }
}

/**
 * PATCH merge: top-level replace, records merged deeply (as Kong does). A shorthand in
 * the patch (`url`) replaces the stored fields it expands to, unless the patch gives them
 * too (then validation refuses the clash).
 */
function mergeRecords(schema: EntitySchema, old: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out = {...old}
  for (const [name, expand] of Object.entries(schema.shorthands ?? {})) {
    if (patch[name] === undefined || patch[name] === null) continue
    const expanded: Record<string, unknown> = {}
    if (expand(patch[name], expanded, {}) === null) for (const f of Object.keys(expanded)) if (!(f in patch)) delete out[f]
  }
  for (const [k, v] of Object.entries(patch)) {
    const f = schema.fields.find(([n]) => n === k)?.[1]
    out[k] = (f?.type === 'record' || (f?.type === 'json' && k === 'config')) && isPlain(v) && isPlain(old[k]) ? deepMerge(old[k] as Record<string, unknown>, v) : v
  }
  return out
}
const isPlain = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)
function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = {...a}
  for (const [k, v] of Object.entries(b)) out[k] = isPlain(v) && isPlain(a[k]) ? deepMerge(a[k] as Record<string, unknown>, v) : v
  return out
}

/** Postgres error → Kong error, by constraint name. Other errors pass through. */
export function mapPgError(thrown: unknown, schema: EntitySchema): unknown {
  if (thrown instanceof GatewayError || thrown === null || typeof thrown !== 'object' || !('code' in thrown) || !thrown.code) return thrown
  const err = thrown as {code: unknown; constraint?: string; detail?: string}
  const c = err.constraint === undefined ? undefined : CONSTRAINTS.get(err.constraint)
  if (err.code === '23505' && c) {
    const key = parseKeyDetail(err.detail, c.fields)
    // Kong names a foreign key as the entity holds it: `consumer={id="…"}`, or null.
    for (const f of c.fields) {
      if (c.schema.fields.find(([n]) => n === f)?.[1].type === 'foreign') key[f] = key[f] == null || key[f] === 'null' ? null : {id: key[f]}
    }
    if (c.fields[0] === 'id' && c.fields.length === 1) {
      return new GatewayError(ErrorCode.PRIMARY_KEY_VIOLATION, `primary key violation on key '{id="${key.id}"}'`, key)
    }
    return uniqueViolation(key)
  }
  if (err.code === '23503' && c) {
    if (c.schema.name !== schema.name) return foreignKeyRestricted(schema.name, c.schema.name)
    const field = c.fields[0]
    const ref = (c.schema.fields.find(([n]) => n === field)![1] as ForeignField).reference
    const id = /\(.*\)=\((.*)\)/.exec(err.detail ?? '')?.[1]
    return foreignKeyInvalid({id}, field, ref)
  }
  return thrown
}

/** Reads `Key (name)=(foo) already exists.` back into `{name: "foo"}`. */
function parseKeyDetail(detail: string | undefined, fields: string[]): Record<string, unknown> {
  const m = /Key \((.*)\)=\((.*)\)/.exec(detail ?? '')
  const values = m ? m[2].split(', ') : []
  const out: Record<string, unknown> = {}
  fields.forEach((f, i) => {
    const v = values[i]
    out[f] = v === undefined || v === '' ? null : v
  })
  return out
}

/** Kong's targets DAO checks the target before the schema, with its own message (no target in it). */
function targetDaoFields(fields: FieldErrors, input: Record<string, unknown>): FieldErrors {
  return typeof input.target === 'string' && !validTarget(input.target) ? {...fields, target: INVALID_TARGET} : fields
}
