/**
 * CRUD endpoints for every entity, derived from the schemas:
 *
 *   /{entities}                    GET page · POST create
 *   /{entities}/{id|key}           GET · PATCH · PUT (upsert) · DELETE
 *   /{parents}/{p}/{children}      GET page of children · POST child bound to p
 *   /{parents}/{p}/{children}/{c}  GET · PATCH · PUT · DELETE, only when c belongs to p
 *   /{children}/{c}/{parent}       GET the parent (`/routes/{r}/service`)
 */
import {GatewayError, invalidSize, invalidUnique, notFound, schemaViolation} from '../db/errors.js'
import {randomUUID} from 'node:crypto'
import type {Dao} from '../db/dao.js'
import type {EntitySchema, ForeignField} from '../schema/field.js'
import {ENTITIES, foreignId, foreignKeys, getSchema, type EntityRecord} from '../schema/registry.js'
import {DEFAULT_TARGET_PORT} from '../schema/entities/targets.js'
import {isUuid} from '../schema/validate.js'
import {json, message, METHOD_NOT_ALLOWED, NOT_FOUND, type Reply} from './reply.js'
import {remainingTtl} from './ttl.js'
import type {WriteOptions} from '../db/dao.js'

export interface ResourceRequest {
  method: string
  segments: string[]
  query: URLSearchParams
  path: string
  body: () => Promise<{body: Record<string, unknown>; form: boolean}>
}

export interface ResourceDeps {
  dao(name: string): Dao
  writeOptions(form: boolean): WriteOptions
  /** Awaited after every successful write, before replying (the proxy rebuilds). */
  onChange(): Promise<void>
}

import {alias} from './methods.js'
import {newestFirst, nextPage, page, tagsFilter} from './page.js'
import {certificateKey, newCertificateKey, takeSnis, withSnis, writeWithSnis} from './certificate-snis.js'

export {ALIASES, alias} from './methods.js'
export {nextPage, tagsFilter} from './page.js'

export async function handleResource(r: ResourceRequest, deps: ResourceDeps): Promise<Reply | null> {
  const reply = await resource(r, deps)
  return reply && remainingTtl(reply)
}

async function resource(r: ResourceRequest, deps: ResourceDeps): Promise<Reply | null> {
  const [rawColl, key, rawSub, subKey, ...rest] = r.segments
  const coll = alias(rawColl)!
  const sub = alias(rawSub)
  const schema = getSchema(coll)
  if (!schema || rest.length) return null
  if (key === undefined) return collection(r, deps, schema)
  // a certificate is also addressed by one of its SNIs (Kong's `/certificates/{sni}`)
  let certificate: {id: string; name?: string} | undefined
  if (schema.name === 'certificates') {
    const found = await certificateKey(deps.dao('snis'), key)
    if (!found && (r.method !== 'PUT' || sub !== undefined)) return message(404, 'SNI not found')
    certificate = found ?? newCertificateKey(key)
  }
  if (sub === undefined) return entity(r, deps, schema, certificate?.id ?? key, undefined, certificate?.name)
  const child = getSchema(sub)
  const via = child ? foreignKeys(child).find(([, f]) => f.reference === schema.name)?.[0] : undefined
  if (child && via) {
    const parent = await deps.dao(schema.name).select(certificate?.id ?? key)
    if (!parent) return NOT_FOUND
    const scope = {field: via, id: parent.id}
    // Kong's `/upstreams/{u}/targets/all`: the same list (Kong 3 keeps no target history)
    if (child.name === 'targets' && subKey === 'all') return r.method === 'GET' ? collection(r, deps, child, scope) : METHOD_NOT_ALLOWED
    // Kong's `/upstreams/{u}/targets` (`page_for_upstream`): the newest first, filters ignored
    if (child.name === 'targets' && subKey === undefined && r.method === 'GET') return page(r, newestFirst(await deps.dao('targets').under(scope)), false)
    return subKey === undefined ? collection(r, deps, child, scope) : entity(r, deps, child, subKey, scope)
  }
  const fk = foreignKeys(schema).find(([name]) => name === sub)
  if (fk && subKey === undefined) return parentOf(r, deps, schema, key, fk)
  return null
}

/**
 * Lookups by a unique field that answer a page of at most one entity, `next` null:
 * Kong's `GET /consumers?custom_id=`, and `?username=` beside it (kctl's: on Kong 3.9
 * an unknown filter is ignored and the whole list comes back, which a script reading
 * `data[0]` would take for a match). An empty value is refused, as Kong does.
 */
const FILTERS: Record<string, string[]> = {consumers: ['custom_id', 'username']}

async function filterBy(r: ResourceRequest, dao: Dao, schema: EntitySchema, scope?: Scope): Promise<Reply | null> {
  if (scope) return null
  for (const field of FILTERS[schema.name] ?? []) {
    if (!r.query.has(field)) continue
    const value = r.query.get(field)!
    if (value === '') return message(400, `${field} must be an unempty string`)
    const found = await dao.findBy(field, value)
    return json(200, {data: found ? [found] : [], next: null})
  }
  return null
}

interface Scope {
  field: string
  id: string
}

async function collection(r: ResourceRequest, deps: ResourceDeps, schema: EntitySchema, scope?: Scope): Promise<Reply> {
  const dao = deps.dao(schema.name)
  if (r.method === 'GET') {
    const filtered = await filterBy(r, dao, schema, scope)
    if (filtered) return filtered
    const sizeArg = r.query.get('size')
    const size = sizeArg !== null ? Number(sizeArg) : undefined
    if (sizeArg !== null && (sizeArg.trim() === '' || Number.isNaN(size))) throw invalidSize('size must be a number')
    const {tags, tagsAll} = tagsFilter(r.query, !scope)
    const page = await dao.page({size, offset: r.query.get('offset') ?? undefined, tags, tagsAll, where: scope ? {[scope.field]: scope.id} : undefined})
    if (schema.name === 'certificates') page.data = await withSnis(dao.pool, page.data)
    return json(200, {data: page.data, next: page.offset ? nextPage(r, page.offset, !scope) : null, ...(page.offset ? {offset: page.offset} : {})})
  }
  if (r.method === 'POST') {
    const {body, form} = await r.body()
    if (scope) body[scope.field] = {id: scope.id}
    const created = schema.name === 'certificates' ? await writeWithSnis(dao, deps.dao('snis'), takeSnis(body), undefined, (o) => dao.insert(body, o), deps.writeOptions(form)) : await dao.insert(body, deps.writeOptions(form))
    await deps.onChange()
    return json(201, created)
  }
  return METHOD_NOT_ALLOWED
}

/** `sniName`: the SNI a certificate was addressed by (`PUT /certificates/{name}` keeps it among its names). */
async function entity(r: ResourceRequest, deps: ResourceDeps, schema: EntitySchema, key: string, scope?: Scope, sniName?: string): Promise<Reply> {
  if (schema.name === 'certificates' && !scope) return certificate(r, deps, key, sniName)
  const dao = deps.dao(schema.name)
  const current = await findByKey(dao, schema, key, scope)
  const inScope = (e: EntityRecord | null) => !scope || !e || foreignId(e[scope.field]) === scope.id
  switch (r.method) {
    case 'GET':
      return current && inScope(current) ? json(200, current) : NOT_FOUND
    case 'PATCH': {
      if (!current || !inScope(current)) return NOT_FOUND
      const {body, form} = await r.body()
      // as Kong, the body may move the child off its parent (`{"service": null}`)
      if (scope && body[scope.field] === undefined) body[scope.field] = {id: scope.id}
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
      // Kong's acl endpoint: `PUT /consumers/{c}/acls/{group}` names the group when the body does not
      const byNestedKey = scope && schema.nested_key && !isUuid(key) ? schema.nested_key : undefined
      if (byNestedKey) {
        body[byNestedKey] ??= key
        const saved = await dao.upsert(current?.id ?? randomUUID(), body, deps.writeOptions(form))
        await deps.onChange()
        return json(200, saved)
      }
      checkKeyMatchesBody(schema, key, body)
      // a name the entity could never have (Kong: `PUT /upstreams/1.2.3.4`) is refused with its message
      if (!current && !isUuid(key) && schema.endpoint_key) {
        const field = schema.fields.find(([n]) => n === schema.endpoint_key)?.[1]
        const err = field?.custom?.(key)
        if (typeof err === 'string') throw invalidUnique(schema.endpoint_key, err)
      }
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
      } else if (scope) {
        // under a parent, as Kong: what is not there (or not its child) is a 404
        return NOT_FOUND
      }
      return {status: 204}
    default:
      return METHOD_NOT_ALLOWED
  }
}

/** `/certificates/{id}`, with the `snis` pseudo-field (certificate-snis.ts). */
async function certificate(r: ResourceRequest, deps: ResourceDeps, id: string, sniName?: string): Promise<Reply> {
  const dao = deps.dao('certificates')
  const snis = deps.dao('snis')
  const current = await dao.select(id)
  switch (r.method) {
    case 'GET':
      return current ? json(200, (await withSnis(dao.pool, [current]))[0]) : NOT_FOUND
    case 'PATCH': {
      if (!current) return NOT_FOUND
      const {body, form} = await r.body()
      const names = takeSnis(body)
      const updated = await writeWithSnis(dao, snis, names, id, (o) => dao.update(id, body, o), deps.writeOptions(form))
      await deps.onChange()
      return json(200, updated)
    }
    case 'PUT': {
      const {body, form} = await r.body()
      // as Kong: no `snis` in a PUT leaves the certificate with none
      const names = takeSnis(body) ?? []
      if (sniName !== undefined && !names.includes(sniName)) names.push(sniName)
      names.sort()
      checkKeyMatchesBody(certificatesSchema(), id, body)
      const saved = await writeWithSnis(dao, snis, names, id, (o) => dao.upsert(id, body, o), deps.writeOptions(form))
      await deps.onChange()
      return json(200, saved)
    }
    case 'DELETE':
      if (current) {
        await dao.delete(id)
        await deps.onChange()
      }
      return {status: 204}
    default:
      return METHOD_NOT_ALLOWED
  }
}
const certificatesSchema = () => getSchema('certificates')!

/**
 * Targets are also addressed by their `host:port` (unique within their upstream), an
 * entity with a `nested_key` by it under its parent; others by id or endpoint key.
 */
async function findByKey(dao: Dao, schema: EntitySchema, key: string, scope?: Scope): Promise<EntityRecord | null> {
  if (scope && schema.nested_key && !isUuid(key)) return dao.findBy(schema.nested_key, key, {[scope.field]: scope.id})
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
function checkKeyMatchesBody(schema: EntitySchema, key: string, body: Record<string, unknown>): void {
  const ek = schema.endpoint_key
  if (isUuid(key)) {
    if (body.id !== undefined && body.id !== key) throw schemaViolation({id: `value must be ${key}`})
  } else if (ek && body[ek] !== undefined && body[ek] !== key) {
    throw schemaViolation({[ek]: `value must be ${key}`})
  } else if (!ek) {
    throw notFound({id: key})
  }
}

/**
 * `/routes/{r}/service`: the entity a foreign key points to (Kong's foreign entity
 * endpoint). GET reads it, PATCH updates it, PUT upserts it (creating and attaching one
 * when the field is null), DELETE is refused (405) as Kong: delete it by its own URL.
 */
async function parentOf(r: ResourceRequest, deps: ResourceDeps, schema: EntitySchema, key: string, [name, f]: [string, ForeignField]): Promise<Reply> {
  if (!['GET', 'PATCH', 'PUT', 'DELETE'].includes(r.method)) return METHOD_NOT_ALLOWED
  const childDao = deps.dao(schema.name)
  const childRow = await childDao.select(key)
  if (!childRow) return NOT_FOUND
  const ref = foreignId(childRow[name])
  const dao = deps.dao(f.reference)
  if (r.method === 'PUT') {
    const {body, form} = await r.body()
    const saved = await dao.upsert(ref ?? randomUUID(), body, deps.writeOptions(form))
    if (!ref) await childDao.update(childRow.id, {[name]: {id: saved.id}}, deps.writeOptions(false))
    await deps.onChange()
    return json(200, saved)
  }
  if (!ref) return NOT_FOUND
  const parent = await dao.select(ref)
  if (!parent) return NOT_FOUND
  if (r.method === 'GET') return json(200, parent)
  if (r.method === 'DELETE') return METHOD_NOT_ALLOWED
  const {body, form} = await r.body()
  const updated = await dao.update(parent.id, body, deps.writeOptions(form))
  await deps.onChange()
  return json(200, updated)
}

export const isGatewayError = (e: unknown): e is GatewayError => e instanceof GatewayError
