/**
 * `/clustering/data-planes` and `/clustering/status`: the data planes every control plane
 * recorded in the shared database. Other roles answer 400 with Kong's message.
 * `DELETE /clustering/data-planes/{id}` (kctl's, Kong has none: its rows only expire) drops
 * the row of a data plane that was removed for good (`kctl scale`).
 */
import type pg from 'pg'
import {deleteDataPlane, pageDataPlanes} from '../clustering/data-planes.js'
import {isUuid} from '../schema/validate.js'
import {json, message, METHOD_NOT_ALLOWED, NOT_FOUND, type Reply} from './reply.js'

const ONLY_CP = 'this endpoint is only available when Kong is configured to run as Control Plane for the cluster'

export async function clusteringEndpoint(method: string, rest: string[], query: URLSearchParams, path: string, pool: pg.Pool | null): Promise<Reply> {
  if (rest.length === 2 && rest[0] === 'data-planes') {
    if (method !== 'DELETE') return METHOD_NOT_ALLOWED
    if (!pool) return message(400, ONLY_CP)
    if (!isUuid(rest[1])) return NOT_FOUND
    await deleteDataPlane(pool, rest[1])
    return {status: 204}
  }
  if (rest.length !== 1 || !['data-planes', 'status'].includes(rest[0])) return NOT_FOUND
  if (method !== 'GET') return METHOD_NOT_ALLOWED
  if (!pool) return message(400, ONLY_CP)
  if (rest[0] === 'data-planes') {
    const size = query.has('size') ? Number(query.get('size')) : undefined
    const page = await pageDataPlanes(pool, size, query.get('offset') ?? undefined)
    let next: string | null = null
    if (page.offset) {
      const q = new URLSearchParams(query)
      q.set('offset', page.offset)
      next = `${path}?${q}`
    }
    return json(200, {data: page.data, next})
  }
  // Deprecated in Kong in favour of /clustering/data-planes; kept for scripts.
  const out: Record<string, unknown> = {}
  let offset: string | undefined
  do {
    const page = await pageDataPlanes(pool, 1000, offset)
    for (const dp of page.data) out[dp.id as string] = {config_hash: dp.config_hash, hostname: dp.hostname, ip: dp.ip, last_seen: dp.last_seen}
    offset = page.offset ?? undefined
  } while (offset)
  return json(200, out, {Deprecation: 'true'})
}
