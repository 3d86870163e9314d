/**
 * Raw entries → the target state. Kinds are processed parents first (topological order
 * over foreign keys), so a child's references resolve to ids its parents already have:
 *
 *   references (nesting links, names, ids) → select tags → schema validation + defaults
 *   → id (given, else matched to the current state by natural key, else new) → duplicates
 */
import type {EntitySchema, ForeignField} from '../schema/field.js'
import {foreignKeys, getSchema, topologicalOrder, type EntityRecord} from '../schema/registry.js'
import {flattenErrors, isUuid, newId, SchemaViolation, validateEntity} from '../schema/validate.js'
import type {ConfigProblem} from './errors.js'
import type {Entry, RawTarget} from './flatten.js'
import {describeKey, keyValue, naturalKeys} from './keys.js'
import {KindIndex} from './lookup.js'
import {checkPluginConfig} from './plugins.js'
import {derivedTargetId} from './derived-ids.js'
import {transformsSecrets} from './format.js'
import type {State} from './state.js'

export interface ResolveOptions {
  /** The gateway's entities; absent for offline validation. */
  current?: State
  /** Tags managed by this run (flag and `_info.select_tags`). */
  selectTags: string[]
  /**
   * Keep a `created_at` the file gives (a DB-less load, as Kong's declarative import). The
   * plan of `kctl apply` leaves timestamps out: it never writes them.
   */
  createdAt?: boolean
}

export interface Target {
  state: State
  /** Entries by id, for messages. */
  entries: Map<string, Entry>
  /** Ids of entities from `_transform: false` files: written without the on-write transformation. */
  untransformed: Set<string>
}

export function resolveTarget(raw: RawTarget, o: ResolveOptions, problems: ConfigProblem[]): Target {
  const state: State = {}
  const byId = new Map<string, Entry>()
  const untransformed = new Set<string>()
  const ctx: Ctx = {raw, o, problems, state, target: new Map(), current: new Map()}
  const byKind = new Map<string, Entry[]>()
  for (const e of raw.entries) byKind.get(e.kind)?.push(e) ?? byKind.set(e.kind, [e])
  for (const schema of topologicalOrder()) {
    const entries = byKind.get(schema.name) ?? []
    state[schema.name] = []
    const index = indexOf(ctx.target, schema, [])
    for (const entry of entries) {
      const entity = prepare(schema, entry, ctx)
      if (!entity) continue
      entry.entity = entity
      state[schema.name].push(entity)
      index.add(entity)
      byId.set(entity.id, entry)
      if (schema.onWrite && !transformsSecrets(entry.file)) untransformed.add(entity.id)
    }
    // Invalid entries too: a duplicate name is worth reporting with the other errors.
    checkDuplicates(schema, entries, problems)
  }
  return {state, entries: byId, untransformed}
}

interface Ctx {
  raw: RawTarget
  o: ResolveOptions
  problems: ConfigProblem[]
  state: State
  /** Indexes over the target built so far and over the current state, by kind. */
  target: Map<string, KindIndex>
  current: Map<string, KindIndex>
}

/** The index of one kind, built on first use from `rows`. */
function indexOf(m: Map<string, KindIndex>, schema: EntitySchema, rows: readonly EntityRecord[]): KindIndex {
  let index = m.get(schema.name)
  if (!index) {
    index = new KindIndex(schema, schema.endpoint_key ? [schema.endpoint_key] : [])
    for (const r of rows) index.add(r)
    m.set(schema.name, index)
  }
  return index
}

const currentIndex = (schema: EntitySchema, ctx: Ctx) => indexOf(ctx.current, schema, ctx.o.current?.[schema.name] ?? [])

function prepare(schema: EntitySchema, entry: Entry, ctx: Ctx): EntityRecord | undefined {
  // a copy all the way down: validation fills nested records' defaults, and the entry as
  // written is what an error shows (flattened_errors' `entity`)
  const input: Record<string, unknown> = structuredClone(entry.entity)
  if (!ctx.o.createdAt) delete input.created_at
  // set at load time, as Kong's declarative import does whatever the file says
  delete input.updated_at
  const unresolved: ConfigProblem[] = []
  for (const [field, f] of foreignKeys(schema)) {
    const problem = resolveReference(input, field, f, entry, ctx)
    if (problem) unresolved.push(problem)
  }
  // A plugin written without `config` still gets its config defaults, as in Kong.
  if (schema.name === 'plugins' && (input.config === undefined || input.config === null)) input.config = {}
  const tags = ctx.o.selectTags
  if (tags.length) input.tags = [...new Set([...(Array.isArray(input.tags) ? input.tags : []), ...tags])]
  let entity: Record<string, unknown>
  try {
    entity = validateEntity(schema, input, {defaults: true, checkJson: checkPluginConfig})
  } catch (err) {
    if (!(err instanceof SchemaViolation)) throw err
    // a reference whose given fields are invalid is reported by them (as Kong: the fields
    // are checked against the referenced entity's schema), not as not found
    for (const p of unresolved) if (!(p.field! in err.fields)) ctx.problems.push(p)
    for (const [field, message] of flattenErrors(err.fields)) {
      const line = field ? entry.file.lineOf([...entry.keys, field.split('.')[0]]) : undefined
      ctx.problems.push({origin: {...entry.origin, line: line ?? entry.origin.line}, field, message})
    }
    return undefined
  }
  if (unresolved.length) {
    ctx.problems.push(...unresolved)
    return undefined
  }
  entity.id ??= matchCurrent(schema, entity, ctx) ?? derivedId(schema, entry, entity) ?? newId()
  return entity as EntityRecord
}

/** Kong's id for a target written without one, under an upstream with an id (derived-ids.ts). */
function derivedId(schema: EntitySchema, entry: Entry, entity: Record<string, unknown>): string | undefined {
  if (schema.name !== 'targets' || typeof entry.entity.target !== 'string') return undefined
  const upstream = (entity.upstream as {id?: string} | null | undefined)?.id
  if (!upstream) return undefined
  return derivedTargetId(upstream, entry.entity.target)
}

/**
 * Nesting links, `{id}`, `{name}` or a bare id/name string → `{id}`; the problem when
 * nothing matches (the reference is left for validation to check its given fields).
 */
function resolveReference(input: Record<string, unknown>, field: string, f: ForeignField, entry: Entry, ctx: Ctx): ConfigProblem | undefined {
  const link = entry.links[field]
  if (link) {
    if (link.entity.id) input[field] = {id: link.entity.id}
    return
  }
  const ref = input[field]
  if (ref === undefined || ref === null) return
  const parent = getSchema(f.reference)!
  const key = parent.endpoint_key
  const raw = typeof ref === 'string' ? (isUuid(ref) ? {id: ref} : key ? {[key]: ref} : ref) : ref
  if (typeof raw !== 'object' || Array.isArray(raw)) return // the schema reports the type
  const given = raw as {id?: string} & Record<string, unknown>
  const found = given.id ? findById(parent, given.id, ctx) : key && given[key] !== undefined ? findByKey(parent, key, given[key], ctx) : undefined
  if (found) {
    input[field] = {id: found}
    return
  }
  const what = given.id ? `id '${given.id}'` : key && given[key] !== undefined ? `${key} '${given[key]}'` : JSON.stringify(given)
  // With select tags the rest of the gateway stays, so an id may point outside the file.
  if (given.id && ctx.o.selectTags.length && !ctx.o.current) return undefined
  input[field] = given
  return {
    origin: {...entry.origin, line: entry.file.lineOf([...entry.keys, field]) ?? entry.origin.line},
    field,
    message: `references a ${parent.singular} with ${what} that is not in the configuration`,
  }
}

function findById(parent: EntitySchema, id: string, ctx: Ctx): string | undefined {
  if (ctx.target.get(parent.name)?.has(id)) return id
  if (ctx.o.selectTags.length && currentIndex(parent, ctx).has(id)) return id
  return undefined
}

function findByKey(parent: EntitySchema, key: string, value: unknown, ctx: Ctx): string | undefined {
  const inFile = ctx.target.get(parent.name)?.byValue(key, value)
  if (inFile) return inFile
  if (ctx.o.selectTags.length) return currentIndex(parent, ctx).byValue(key, value)
  return undefined
}

/** An existing entity with the same natural key, else one with the same content (certificates). */
function matchCurrent(schema: EntitySchema, entity: Record<string, unknown>, ctx: Ctx): string | undefined {
  return ctx.o.current ? currentIndex(schema, ctx).claimMatch(entity) : undefined
}

function checkDuplicates(schema: EntitySchema, entries: Entry[], problems: ConfigProblem[]): void {
  // Kong's order: the endpoint key, then the primary key, then the other unique fields; an
  // entry is reported once. Kong words them `with name set to 'x'`, `with primary key set
  // to '…'` on the entry itself, and files a repeated other field under the entry's
  // endpoint key value (`consumers: {bar: …}`).
  const endpoint = schema.endpoint_key
  const keys = [...(endpoint ? [[endpoint]] : []), ['id'], ...naturalKeys(schema).filter((k) => !(k.length === 1 && k[0] === endpoint))]
  const reported = new Set<Entry>()
  for (const key of keys) {
    const seen = new Map<string, Entry>()
    for (const e of entries) {
      const v = key[0] === 'id' ? (e.entity.id ? JSON.stringify([e.entity.id]) : undefined) : keyValue(schema, key, withLinks(e))
      if (v === undefined) continue
      const first = seen.get(v)
      if (!first) seen.set(v, e)
      else if (!reported.has(e)) {
        reported.add(e)
        problems.push({origin: e.origin, message: `uniqueness violation: '${schema.name}' entity with ${describeKey(key, v)} already declared at ${first.origin.path}`, kong: kongUniqueness(schema, key, v, e)})
      }
    }
  }
}

/**
 * The entry with the references its nesting implies: a valid entry has them already; an
 * invalid one (left as written) gets its parent's id, or a token of that parent when the
 * parent is invalid too, so that plugins nested under different parents never collide.
 */
function withLinks(e: Entry): Record<string, unknown> {
  const links = Object.entries(e.links)
  if (links.length === 0) return e.entity
  const entity = {...e.entity}
  for (const [field, parent] of links) entity[field] ??= {id: parent.entity.id ?? parentToken(parent)}
  return entity
}

const parentTokens = new WeakMap<Entry, string>()
let tokens = 0
const parentToken = (parent: Entry): string => parentTokens.get(parent) ?? (parentTokens.set(parent, `#${++tokens}`), `#${tokens}`)

function kongUniqueness(schema: EntitySchema, key: string[], value: string, e: Entry): ConfigProblem['kong'] {
  if (key.length !== 1) return undefined
  const v = String((JSON.parse(value) as unknown[])[0])
  const what = key[0] === 'id' ? 'primary key' : key[0]
  const message = `uniqueness violation: '${schema.name}' entity with ${what} set to '${v}' already declared`
  const at = e.origin.keys
  const named = schema.endpoint_key && key[0] !== 'id' && key[0] !== schema.endpoint_key ? e.entity[schema.endpoint_key] : undefined
  return {message, ...(at && typeof named === 'string' ? {keys: [...at.slice(0, -1), named]} : {})}
}
