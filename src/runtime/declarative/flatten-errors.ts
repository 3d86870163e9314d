/**
 * Kong's `declarative_config_flattened` (`kong/db/errors.lua`): the nested error table
 * and the input as written → one item per invalid entity, children hoisted out of their
 * parents. What Kong does, and so what this does:
 *
 *   sections and entity indexes are drained in descending key order; an entity's
 *   relations (its own foreign fields written as tables, then the kinds nested in it)
 *   are visited before its own errors, nested items in file order;
 *   a nested child gets its parent's primary key (`service: {id}`) when it has none and
 *   the parent has a valid uuid id; a foreign field written as a table becomes `{id}`;
 *   the nested lists are removed from the parent's `entity`;
 *   errors inside an entity are drained in descending key order, records joined by `.`.
 *
 * The error table is drained as Kong drains it: what is left (errors no entity could
 * own) is what `fields` keeps.
 */
import {foreignKeys, getSchema, referencing} from '../schema/registry.js'
import {isUuid} from '../schema/validate.js'
import {derivedTargetId} from './derived-ids.js'

type Tree = Record<string | number, unknown>

export interface FlatError {
  type: 'field' | 'entity'
  field?: string
  message: string
}

export interface Flattened {
  entity_type: string
  entity_id?: string
  entity_name?: string
  entity_tags?: string[]
  entity: Record<string, unknown>
  errors: FlatError[]
}

const isTable = (v: unknown): v is Tree => v !== null && typeof v === 'object'

/** Lua's sort of a table's keys, popped from the end: numbers numerically, descending. */
function drainKeys(t: Tree): string[] {
  const keys = Object.keys(t).filter((k) => t[k] !== null && t[k] !== undefined)
  const num = (k: string) => (/^\d+$/.test(k) ? Number(k) : NaN)
  keys.sort((a, b) => (Number.isNaN(num(a)) || Number.isNaN(num(b)) ? (a < b ? -1 : a > b ? 1 : 0) : num(a) - num(b)))
  return keys.reverse()
}

const makePk = (e: Tree): {id: string} | undefined => (typeof e.id === 'string' && isUuid(e.id) ? {id: e.id} : undefined)

interface Relation {
  /** The entity holding the foreign key. */
  entity: string
  field: string
  reference: string
}

function relations(kind: string): Relation[] {
  const schema = getSchema(kind)
  if (!schema) return []
  const own = foreignKeys(schema).map(([field, f]) => ({entity: kind, field, reference: f.reference}))
  const back = referencing(kind).filter((r) => r.schema.name !== kind).map((r) => ({entity: r.schema.name, field: r.field, reference: kind}))
  return [...own, ...back]
}

/**
 * @param fields the error table shaped like the input; drained in place
 * @param input the declarative file as written; entities in it are changed in place
 */
export function flattenErrors(fields: Tree, input: Tree): Flattened[] {
  const out: Flattened[] = []
  for (const section of drainKeys(fields)) {
    const errs = fields[section]
    const entities = input[section]
    if (!isTable(errs) || !isTable(entities)) continue
    delete fields[section]
    for (const i of drainKeys(errs)) if (isTable(entities[i])) addEntityErrors(section, entities[i], errs[i], out)
  }
  return out
}

function addEntityErrors(kind: string, entity: Tree, err: unknown, out: Flattened[]): void {
  const errs: Tree | undefined = typeof err === 'string' ? {'@entity': err} : isTable(err) && Object.keys(err).length ? err : undefined
  if (!errs) return
  const pk = makePk(entity)
  for (const ref of relations(kind)) {
    if (ref.entity === kind) {
      const value = entity[ref.field]
      if (!isTable(value)) continue
      const sub = errs[ref.field]
      setOrDelete(entity, ref.field, makePk(value))
      delete errs[ref.field]
      addEntityErrors(ref.reference, value, sub, out)
      continue
    }
    const list = entity[ref.entity]
    if (!isTable(list)) continue
    const sub = errs[ref.entity]
    delete entity[ref.entity]
    delete errs[ref.entity]
    if (!isTable(sub) || !Array.isArray(list)) continue
    list.forEach((item, i) => {
      if (!isTable(item)) return
      if (item[ref.field] === undefined && pk) item[ref.field] = pk
      // the id Kong derives for a target without one (Kong's input carries it by then)
      if (ref.entity === 'targets' && item.id === undefined && pk && typeof item.target === 'string') item.id = derivedTargetId(pk.id, item.target)
      addEntityErrors(ref.entity, item, sub[i], out)
    })
  }
  if (Object.keys(errs).length === 0) return
  const errors = categorize(errs, undefined, [])
  if (!errors.length) return
  const tags = entity.tags
  out.push({
    entity_type: getSchema(kind)?.singular ?? kind,
    ...(pk ? {entity_id: pk.id} : {}),
    ...(typeof entity.name === 'string' && entity.name ? {entity_name: entity.name} : {}),
    ...(Array.isArray(tags) && tags.every((t) => typeof t === 'string') ? {entity_tags: tags} : {}),
    entity,
    errors,
  })
}

function setOrDelete(t: Tree, key: string, value: unknown): void {
  if (value === undefined) delete t[key]
  else t[key] = value
}

function categorize(errs: Tree, ns: string | undefined, out: FlatError[]): FlatError[] {
  for (const key of drainKeys(errs)) {
    const err = errs[key]
    const field = ns ? `${ns}.${key}` : key
    if (key === '@entity') for (const m of [err].flat()) out.push({type: 'entity', message: String(m)})
    else if (typeof err === 'string') out.push({type: 'field', field, message: err})
    else if (isTable(err)) categorize(err, field, out)
  }
  return out
}
