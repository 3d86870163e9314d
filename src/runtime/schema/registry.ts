/**
 * The entity registry: every entity the gateway knows, in one explicit list.
 * Order here is documentation only; storage and sync order come from
 * `topologicalOrder()` over the foreign keys.
 */
import type {EntitySchema, ForeignField} from './field.js'
import {setSchemaLookup} from './validate.js'
import {caCertificates} from './entities/ca-certificates.js'
import {certificates, snis} from './entities/certificates.js'
import {consumers} from './entities/consumers.js'
import {plugins} from './entities/plugins.js'
import {routes} from './entities/routes.js'
import {services} from './entities/services.js'
import {targets} from './entities/targets.js'
import {upstreams} from './entities/upstreams.js'
import {pluginEntities} from '../plugins/registry.js'

/** The gateway's own entities. */
export const CORE_ENTITIES: readonly EntitySchema[] = [
  certificates,
  snis,
  caCertificates,
  services,
  routes,
  consumers,
  upstreams,
  targets,
  plugins,
]

/** Every entity: the core ones, then those the bundled plugins store (their folders own them). */
export const ENTITIES: readonly EntitySchema[] = [...CORE_ENTITIES, ...pluginEntities()]

const byName = new Map(ENTITIES.map((s) => [s.name, s]))

export function getSchema(name: string): EntitySchema | undefined {
  return byName.get(name)
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
