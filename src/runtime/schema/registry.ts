/**
 * The entity registry: every entity the gateway knows, in one explicit list, and the
 * types derived from it (`Kind`, `Entity<K>`, `EntitySet`). Storage and sync order come
 * from `topologicalOrder()` over the foreign keys; `KINDS` keeps this list's order.
 *
 * Adding an entity: write its schema in `entities/<name>.ts` with `defineEntity({…})`,
 * then add one line to `CORE_ENTITIES` (a plugin's entity goes in its folder's
 * `storage` instead, picked up through the plugin registry). Its TypeScript type, its
 * kind and every list of kinds follow, and the compiler refuses a misspelt kind
 * wherever one is named (`Entity<'routes'>`, `set.routes`, `satisfies readonly Kind[]`).
 */
import type {EntityOf, EntitySchema, ForeignField} from './field.js'
import {setSchemaLookup} from './validate.js'
import {caCertificates} from './entities/ca-certificates.js'
import {certificates, snis} from './entities/certificates.js'
import {consumers} from './entities/consumers.js'
import {plugins} from './entities/plugins.js'
import {routes} from './entities/routes.js'
import {services} from './entities/services.js'
import {targets} from './entities/targets.js'
import {upstreams} from './entities/upstreams.js'
import {pluginEntities, type BundledEntitySchema} from '../plugins/registry.js'

/** The gateway's own entities. */
export const CORE_ENTITIES = [
  certificates,
  snis,
  caCertificates,
  services,
  routes,
  consumers,
  upstreams,
  targets,
  plugins,
] as const satisfies readonly EntitySchema[]

/** The schema of every entity, as a type: the core ones and those bundled plugins store. */
type AnyEntitySchema = (typeof CORE_ENTITIES)[number] | BundledEntitySchema

/** An entity kind: table name, Admin API collection and declarative key (`services`). */
export type Kind = AnyEntitySchema['name']

/** The schema of kind `K`, with its literal field types. */
export type SchemaOf<K extends Kind> = Extract<AnyEntitySchema, {name: K}>

/** A validated entity of kind `K`, as stored and as the proxy sees it (foreign keys as `{id}`). */
export type Entity<K extends Kind> = EntityOf<SchemaOf<K>>

/** Every entity of a configuration, by kind: what a snapshot is built from. */
export type EntitySet = {[K in Kind]: Array<Entity<K>>}

/** Every entity: the core ones, then those the bundled plugins store (their folders own them). */
export const ENTITIES: readonly EntitySchema[] = [...CORE_ENTITIES, ...pluginEntities()]

/** Every kind, in registry order (the core ones, then the plugins'). */
export const KINDS: readonly Kind[] = ENTITIES.map((s) => s.name as Kind)

const byName = new Map(ENTITIES.map((s) => [s.name, s]))

export function getSchema(name: string): EntitySchema | undefined {
  return byName.get(name)
}

/** Whether `name` is an entity kind (a declarative key, an Admin API collection…). */
export function isKind(name: string): name is Kind {
  return byName.has(name)
}

/** An entity of some kind, read by field name (code that works over every kind). */
export type EntityRecord = Record<string, unknown> & {id: string}

/** The entities of a kind named at run time (a URL segment, a file key); none when `name` is no kind. */
export function rowsOf(set: Partial<EntitySet>, name: string): EntityRecord[] {
  return isKind(name) ? ((set[name] ?? []) as unknown as EntityRecord[]) : []
}

/** The id a foreign-key value holds (`{id}`), or undefined when it is unset. */
export function foreignId(value: unknown): string | undefined {
  const id = value !== null && typeof value === 'object' ? (value as {id?: unknown}).id : undefined
  return typeof id === 'string' ? id : undefined
}

/** An entity set with no entity of any kind. */
export function emptyEntitySet(): EntitySet {
  return Object.fromEntries(KINDS.map((k) => [k, []])) as unknown as EntitySet
}

/**
 * An entity set from rows by kind, as loaded from storage or a declarative config
 * (validated already): every kind present, absent ones empty.
 */
export function toEntitySet(rows: Readonly<Record<string, readonly unknown[] | undefined>>): EntitySet {
  return Object.fromEntries(KINDS.map((k) => [k, rows[k] ?? []])) as unknown as EntitySet
}

export function foreignKeys(schema: EntitySchema): Array<[string, ForeignField]> {
  return schema.fields.filter(([, f]) => f.type === 'foreign') as Array<[string, ForeignField]>
}

/** Parents before children (creates); reverse it for deletes. */
export function topologicalOrder(schemas: readonly EntitySchema[] = ENTITIES): EntitySchema[] {
  const out: EntitySchema[] = []
  const seen = new Set<string>()
  const visit = (s: EntitySchema) => {
    if (seen.has(s.name)) return
    seen.add(s.name)
    for (const [, f] of foreignKeys(s)) {
      const parent = byName.get(f.reference)
      if (parent && parent !== s) visit(parent)
    }
    out.push(s)
  }
  schemas.forEach(visit)
  return out
}

/** Entities that hold a foreign key to `name`, with the field. */
export function referencing(name: string): Array<{schema: EntitySchema; field: string; field_def: ForeignField}> {
  const out = []
  for (const s of ENTITIES) {
    for (const [field, f] of foreignKeys(s)) if (f.reference === name) out.push({schema: s, field, field_def: f})
  }
  return out
}

setSchemaLookup(getSchema)
