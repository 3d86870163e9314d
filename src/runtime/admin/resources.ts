/**
 * CRUD endpoints for every entity, derived from the schemas:
 *
 *   /{entities}                    GET page · POST create
 *   /{entities}/{id|key}           GET · PATCH · PUT (upsert) · DELETE
 *   /{parents}/{p}/{children}      GET page of children · POST child bound to p
 *   /{parents}/{p}/{children}/{c}  GET · PATCH · PUT · DELETE, only when c belongs to p
 *   /{children}/{c}/{parent}       GET the parent (`/routes/{r}/service`)
 */
import {GatewayError, invalidOptions, notFound, schemaViolation} from '../db/errors.js'
import type {Dao} from '../db/dao.js'
import type {EntitySchema, ForeignField} from '../schema/field.js'
import {ENTITIES, foreignKeys, getSchema} from '../schema/registry.js'
import {DEFAULT_TARGET_PORT} from '../schema/entities/targets.js'
import {TAG_FILTER} from '../schema/field.js'
import {isUuid} from '../schema/validate.js'
import {json, METHOD_NOT_ALLOWED, NOT_FOUND, type Reply} from './reply.js'
import type {WriteOptions} from '../db/dao.js'

export interface ResourceRequest {
  method: string
  segments: string[]
  query: URLSearchParams
  path: string
  body: () => Promise<{body: Record<string, any>; form: boolean}>
}

export interface ResourceDeps {
  dao(name: string): Dao
  writeOptions(form: boolean): WriteOptions
  /** Awaited after every successful write, before replying (the proxy rebuilds). */
  onChange(): Promise<void>
}

/** Kong's URL names of entities, from their schemas (`/key-auths`, `/consumers/{c}/key-auth`). */
export const ALIASES: Record<string, string> = Object.fromEntries(
  ENTITIES.flatMap((s) => [s.admin_api_name, s.admin_api_nested_name].filter((a): a is string => a !== undefined).map((a) => [a, s.name])),
)
export const alias = (s: string | undefined) => (s !== undefined ? (ALIASES[s] ?? s) : s)

export async function handleResource(r: ResourceRequest, deps: ResourceDeps): Promise<Reply | null> {
  const [rawColl, key, rawSub, subKey, ...rest] = r.segments
  const coll = alias(rawColl)!
  const sub = alias(rawSub)
  const schema = getSchema(coll)
  if (!schema || rest.length) return null
  if (key === undefined) return collection(r, deps, schema)
  if (sub === undefined) return entity(r, deps, schema, key)
  const child = getSchema(sub)
  const via = child ? foreignKeys(child).find(([, f]) => f.reference === schema.name)?.[0] : undefined
  if (child && via) {
    const parent = await deps.dao(schema.name).select(key)
    if (!parent) return NOT_FOUND
    return subKey === undefined ? collection(r, deps, child, {field: via, id: parent.id}) : entity(r, deps, child, subKey, {field: via, id: parent.id})
  }
  const fk = foreignKeys(schema).find(([name]) => name === sub)
  if (fk && subKey === undefined) return parentOf(r, deps, schema, key, fk)
  return null
}

interface Scope {
  field: string
  id: string
}

async function collection(r: ResourceRequest, deps: ResourceDeps, schema: EntitySchema, scope?: Scope): Promise<Reply> {
  const dao = deps.dao(schema.name)
  if (r.method === 'GET') {
    const size = r.query.has('size') ? Number(r.query.get('size')) : undefined
    const tagsArg = r.query.get('tags')
    // a,b: every tag; a/b: any tag; Kong cannot tell which a mix means and refuses it, and
    // refuses characters no tag can have (a NUL byte among them).
    if (tagsArg !== null && !TAG_FILTER.all.test(tagsArg) && !TAG_FILTER.any.test(tagsArg)) throw invalidOptions({tags: 'invalid filter syntax'})
    const tagsAll = !tagsArg?.includes('/')
    const tags = tagsArg ? tagsArg.split(tagsAll ? ',' : '/') : undefined
    const page = await dao.page({size, offset: r.query.get('offset') ?? undefined, tags, tagsAll, where: scope ? {[scope.field]: scope.id} : undefined})
    let next: string | null = null
    if (page.offset) {
      const q = new URLSearchParams(r.query)
      q.set('offset', page.offset)
      next = `${r.path}?${q}`
    }
    return json(200, {data: page.data, next, ...(page.offset ? {offset: page.offset} : {})})
  }
  if (r.method === 'POST') {
    const {body, form} = await r.body()
    if (scope) body[scope.field] = {id: scope.id}
    const created = await dao.insert(body, deps.writeOptions(form))
    await deps.onChange()
    return json(201, created)
  }
  return METHOD_NOT_ALLOWED
}

async function entity(r: ResourceRequest, deps: ResourceDeps, schema: EntitySchema, key: string, scope?: Scope): Promise<Reply> {
  const dao = deps.dao(schema.name)
  const current = await findByKey(dao, schema, key, scope)
  const inScope = (e: Record<string, any> | null) => !scope || !e || e[scope.field]?.id === scope.id
  switch (r.method) {
    case 'GET':
      return current && inScope(current) ? json(200, current) : NOT_FOUND
    case 'PATCH': {
      if (!current || !inScope(current)) return NOT_FOUND
      const {body, form} = await r.body()
      if (scope) body[scope.field] = {id: scope.id}
      const updated = await dao.update(current.id, body, deps.writeOptions(form))
      await deps.onChange()
      return json(200, updated)
    }
    case 'PUT': {
      if (current && !inScope(current)) return NOT_FOUND
      const {body, form} = await r.body()
      if (scope) body[scope.field] = {id: scope.id}
      // Kong 3: a target is updated in place by PUT (as PATCH); an absent one is not created.
      if (schema.name === 'targets') {
        if (!current) return NOT_FOUND
        const updated = await dao.update(current.id, body, deps.writeOptions(form))
        await deps.onChange()
        return json(200, updated)
      }
      checkKeyMatchesBody(schema, key, body)
      // PUT /consumers/alice replaces the entity, and its endpoint key stays alice.
      if (!isUuid(key) && schema.endpoint_key) body[schema.endpoint_key] = key
      const saved = await dao.upsert(current?.id ?? key, body, deps.writeOptions(form))
      await deps.onChange()
      return json(200, saved)
    }
    case 'DELETE':
      if (current && inScope(current)) {
        await dao.delete(current.id)
        await deps.onChange()
      }
      return {status: 204}
    default:
      return METHOD_NOT_ALLOWED
  }
}

/** Targets are also addressed by their `host:port` (unique within their upstream); others by id or endpoint key. */
async function findByKey(dao: Dao, schema: EntitySchema, key: string, scope?: Scope): Promise<Record<string, any> | null> {
  if (schema.name === 'targets' && !isUuid(key)) {
    const where = scope ? {[scope.field]: scope.id} : {}
    for (const address of targetAddresses(key)) {
      const found = await dao.findBy('target', address, where)
      if (found) return found
    }
    return null
  }
  return dao.select(key)
}

/** What a target key in a URL may be stored as: itself, or a bare host with Kong's default port. */
export const targetAddresses = (key: string): string[] => [key, `${key}:${DEFAULT_TARGET_PORT}`]

/** `PUT /services/foo` with `{"name": "bar"}` is a contradiction Kong refuses. */
function checkKeyMatchesBody(schema: EntitySchema, key: string, body: Record<string, any>): void {
  const ek = schema.endpoint_key
  if (isUuid(key)) {
    if (body.id !== undefined && body.id !== key) throw schemaViolation({id: `value must be ${key}`})
  } else if (ek && body[ek] !== undefined && body[ek] !== key) {
    throw schemaViolation({[ek]: `value must be ${key}`})
  } else if (!ek) {
    throw notFound({id: key})
  }
}

async function parentOf(r: ResourceRequest, deps: ResourceDeps, schema: EntitySchema, key: string, [name, f]: [string, ForeignField]): Promise<Reply> {
  if (r.method !== 'GET') return METHOD_NOT_ALLOWED
  const childRow = await deps.dao(schema.name).select(key)
  if (!childRow) return NOT_FOUND
  const ref = childRow[name]
  if (!ref) return NOT_FOUND
  const parent = await deps.dao(f.reference).select(ref.id)
  return parent ? json(200, parent) : NOT_FOUND
}

export const isGatewayError = (e: unknown): e is GatewayError => e instanceof GatewayError
