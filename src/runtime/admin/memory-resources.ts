/**
 * Entity endpoints of a DB-less node, served from the loaded configuration: the same
 * URLs and pages as with a database, read-only. Writes answer 405 with Kong's
 * `operation unsupported` message (`kong/db/strategies/off`).
 */
import {ErrorCode, GatewayError, invalidOffset, invalidSize} from '../db/errors.js'
import type {EntityArrays} from '../clustering/export.js'
import type {EntitySchema} from '../schema/field.js'
import {foreignId, foreignKeys, getSchema, rowsOf, type EntityRecord} from '../schema/registry.js'
import {isUuid} from '../schema/validate.js'
import {alias, targetAddresses} from './resources.js'
import {json, METHOD_NOT_ALLOWED, NOT_FOUND, type Reply} from './reply.js'
import {allowedMethods} from './methods.js'
import {isLive, remainingTtl} from './ttl.js'
import {newestFirst, page} from './page.js'

const VERB: Record<string, string> = {POST: 'create', PATCH: 'update', PUT: 'create or update', DELETE: 'remove'}

function unsupported(method: string, schema: EntitySchema, key?: string): GatewayError {
  const verb = VERB[method] ?? method.toLowerCase()
  const by = key !== undefined && !isUuid(key) && schema.endpoint_key ? ` by '${schema.endpoint_key}'` : ''
  return new GatewayError(ErrorCode.OPERATION_UNSUPPORTED, `cannot ${verb} '${schema.name}' entities${by} when not using a database`)
}

export interface MemoryRequest {
  method: string
  segments: string[]
  query: URLSearchParams
  path: string
}

/** null when the path names no entity endpoint. @throws GatewayError (405, bad offset) */
export function handleMemoryResource(r: MemoryRequest, entities: EntityArrays): Reply | null {
  const reply = memoryResource(r, entities)
  return reply && remainingTtl(reply)
}

function memoryResource(r: MemoryRequest, entities: EntityArrays): Reply | null {
  const [rawColl, key, rawSub, subKey, ...rest] = r.segments
  const schema = getSchema(alias(rawColl)!)
  if (!schema || rest.length) return null
  // as Kong's off strategy, an entity whose ttl ran out is not there
  const now = Date.now() / 1000
  const rows = (kind: string) => rowsOf(entities, kind).filter((e) => isLive(e, now))
  const find = (s: EntitySchema, k: string) => rows(s.name).find((e) => e.id === k || (s.endpoint_key && !isUuid(k) && e[s.endpoint_key] === k))
  // a method the path does not have is a 405 as with a database (`DELETE /routes`); one it has, Kong's refusal
  const allowed = allowedMethods(r.segments)?.split(', ') ?? []
  if (!allowed.includes(r.method)) return METHOD_NOT_ALLOWED
  if (r.method !== 'GET' && r.method !== 'HEAD') throw unsupported(r.method, rawSub ? (getSchema(alias(rawSub)!) ?? schema) : schema, subKey ?? (rawSub ? undefined : key))
  // certificates carry the names of their snis (Kong's `snis` pseudo-field), and are found by one
  const named = (list: EntityRecord[]) => (schema.name === 'certificates' ? list.map((c) => ({...c, snis: rows('snis').filter((x) => foreignId(x.certificate) === c.id).map((x) => x.name as string).sort()})) : list)
  if (key === undefined) return page(r, named(rows(schema.name)), true)
  const bySni = schema.name === 'certificates' && !isUuid(key) ? foreignId(rows('snis').find((x) => x.name === key)?.certificate) : undefined
  const parent = find(schema, bySni ?? key)
  if (rawSub === undefined) return parent ? json(200, named([parent])[0]) : NOT_FOUND
  if (!parent) return NOT_FOUND
  const child = getSchema(alias(rawSub)!)
  const via = child ? foreignKeys(child).find(([, f]) => f.reference === schema.name)?.[0] : undefined
  if (child && via) {
    const mine = rows(child.name).filter((e) => foreignId(e[via]) === parent.id)
    // Kong's `/upstreams/{u}/targets` lists the newest first; `/targets/all` as stored
    if (subKey === undefined) return page(r, child.name === 'targets' ? newestFirst(mine) : mine, false)
    if (child.name === 'targets' && subKey === 'all') return page(r, mine, false)
    const hit = mine.find((e) => e.id === subKey || (child.endpoint_key && e[child.endpoint_key] === subKey)) ?? (child.nested_key && !isUuid(subKey) ? mine.find((e) => e[child.nested_key!] === subKey) : undefined) ?? (child.name === 'targets' ? findTarget(mine, subKey) : undefined)
    return hit ? json(200, hit) : NOT_FOUND
  }
  const fk = foreignKeys(schema).find(([name]) => name === rawSub)
  if (fk && subKey === undefined) {
    const ref = foreignId(parent[fk[0]])
    const found = ref ? rows(fk[1].reference).find((e) => e.id === ref) : undefined
    return found ? json(200, found) : NOT_FOUND
  }
  return null
}

/** Targets are also addressed by `host:port` or a bare host (port 8000), as with a database. */
function findTarget(rows: EntityRecord[], key: string): EntityRecord | undefined {
  for (const address of targetAddresses(key)) {
    const hit = rows.find((e) => e.target === address)
    if (hit) return hit
  }
  return undefined
}

/** `?size=` (default 100, max 1000), `?offset=` (opaque), `?tags=a,b` (and) or `a/b` (or), as with a database. */
