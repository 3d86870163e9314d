/**
 * Kong's target health endpoints (kong/api/routes/upstreams.lua):
 *
 *   GET /upstreams/{u}/health[?balancer_health=1]         targets page + health, or the balancer
 *   PUT /upstreams/{u}/targets/{t}/healthy|unhealthy      set by hand: 204
 *   PUT /upstreams/{u}/targets/{t}/{address}/healthy|unhealthy
 *
 * Health values: HEALTHY, UNHEALTHY, HEALTHCHECKS_OFF (checks off for the upstream, or a
 * target of weight 0), DNS_ERROR (the target's name does not resolve). Each target's
 * `data.addresses` lists what its name resolved to (names are resolved again here once
 * their answer's TTL is over), each address with the target's health: kctl keeps health
 * per target, where Kong keeps it per address. On a control plane
 * (no proxy) the PUT routes do not exist and GET shows the targets without health, as
 * Kong's CP does. With several proxy worker processes there is no one answer: 400
 * naming the limitation (see workers/pool.ts).
 *
 * Entities are read through the node's own entity endpoints (`read`), so lookups (target
 * by id or address) and pages are the same as `/upstreams/{u}/targets`.
 */
import {isIP} from 'node:net'
import type {Resolution} from '../proxy/dns.js'
import type {BalancerStatus, HealthRegistry} from '../proxy/health/registry.js'
import {parseTarget} from '../proxy/balancer/index.js'
import {DEFAULT_TARGET_PORT} from '../schema/entities/targets.js'
import type {Entity, Kind} from '../schema/registry.js'
import type {HealthView} from '../workers/proxy-host.js'
import {json, message, METHOD_NOT_ALLOWED, NOT_FOUND, type Reply} from './reply.js'

export interface HealthDeps {
  nodeId: string
  /** The proxy's health; absent on a control plane. */
  health?: HealthView
  /** A GET on the node's entity endpoints; null when the path names none. */
  read(segments: string[], query: URLSearchParams, path: string): Promise<Reply | null>
}

/** null when the path is not a health endpoint. */
export async function healthEndpoint(method: string, segments: string[], query: URLSearchParams, path: string, deps: HealthDeps): Promise<Reply | null> {
  if (segments[0] !== 'upstreams') return null
  const [, u, third, t, ...rest] = segments
  if (third === 'health' && segments.length === 3) return method === 'GET' ? getHealth(u, query, path, deps) : METHOD_NOT_ALLOWED
  const verb = rest[rest.length - 1]
  if (third !== 'targets' || t === undefined || rest.length < 1 || rest.length > 2 || (verb !== 'healthy' && verb !== 'unhealthy')) return null
  if (!deps.health) return null // Kong's control plane has no such route
  if (method !== 'PUT') return METHOD_NOT_ALLOWED
  return setHealth(u, t, rest.length === 2 ? rest[0] : undefined, verb === 'healthy', deps, deps.health)
}

async function getHealth(u: string, query: URLSearchParams, path: string, deps: HealthDeps): Promise<Reply> {
  const upstream = await entity<'upstreams'>(deps, ['upstreams', u])
  if (!upstream) return NOT_FOUND
  const view = deps.health
  if (view && 'unavailable' in view) return message(400, view.unavailable)
  const registry = view?.registry
  if (query.get('balancer_health') === '1') {
    await registry?.resolve(upstream.id)
    const status = registry?.balancer(upstream.id)
    // Kong: no balancer (a control plane) leaves `data` out
    return json(200, {...(status ? {data: balancerHealth(registry!, upstream.id, status)} : {}), next: null, node_id: deps.nodeId})
  }
  const page = await deps.read(['upstreams', u, 'targets'], query, path)
  if (!page || page.status !== 200) return page ?? NOT_FOUND
  await registry?.resolve(upstream.id)
  const body = page.body as {data: Array<Entity<'targets'>>; next: string | null; offset?: string}
  const data = registry ? body.data.map((t) => withHealth(registry, upstream.id, t)) : body.data
  return json(200, {data, ...(body.offset ? {offset: body.offset} : {}), next: body.next, node_id: deps.nodeId})
}

async function setHealth(u: string, t: string, address: string | undefined, healthy: boolean, deps: HealthDeps, view: HealthView): Promise<Reply> {
  const upstream = await entity<'upstreams'>(deps, ['upstreams', u])
  if (!upstream) return NOT_FOUND
  const target = await entity<'targets'>(deps, ['upstreams', u, 'targets', t])
  if (!target) return NOT_FOUND
  if ('unavailable' in view) return message(400, view.unavailable)
  // kctl balances over the target itself (names resolve at connect time): one address,
  // the target's own; another address is not in the list, which Kong accepts as a no-op
  if (address !== undefined && normalizeAddress(address) !== target.target) return {status: 204}
  const err = view.registry.set(upstream.id, target.target, healthy)
  return err ? message(400, err) : {status: 204}
}

/** The entity the Admin API reads at `segments` (of kind `K`), or null. */
async function entity<K extends Kind>(deps: HealthDeps, segments: string[]): Promise<Entity<K> | null> {
  const r = await deps.read(segments, new URLSearchParams(), '/' + segments.join('/'))
  return r?.status === 200 ? (r.body as Entity<K>) : null
}

function withHealth(registry: HealthRegistry, upstreamId: string, t: Entity<'targets'>) {
  const health = registry.health(upstreamId, t.target)
  if (health === undefined) return t
  const status = registry.balancer(upstreamId)
  const self = status?.targets.find((x) => x.key === t.target)
  return {...t, health, data: targetStatus(t.target, self?.weight ?? t.weight, self?.available ?? true, registry.resolution(upstreamId, t.target), health)}
}

/**
 * Kong's per-target status (`balancer:getTargetStatus`): an entry per address the name
 * resolved to (none when it does not resolve), each with the target's weight; `healthy`
 * in the balancer details, `health` per address otherwise.
 */
function targetStatus(key: string, weight: number, available: boolean, resolution: Resolution | null, health?: string) {
  const {host, port} = parseTarget(key)
  const ips = resolution === null ? (isIP(host) ? [host] : []) : 'error' in resolution ? [] : resolution.addresses.map((a) => a.address)
  const addresses = ips.map((ip) => ({ip, port, weight, ...(health === undefined ? {healthy: available} : {health})}))
  const total = weight * addresses.length
  return {
    host,
    port,
    dns: resolution === null ? DNS[isIP(host)] : 'error' in resolution ? resolution.error : resolution.type,
    nodeWeight: weight,
    weight: {total, unavailable: available ? 0 : total, available: available ? total : 0},
    addresses,
  }
}

/** Kong names the record type the addresses came as: an IP address is its own A or AAAA record. */
const DNS: Record<number, string> = {0: 'unknown', 4: 'A', 6: 'AAAA'}

function balancerHealth(registry: HealthRegistry, id: string, s: BalancerStatus) {
  const balancer = s.available ? 'HEALTHY' : 'UNHEALTHY'
  return {
    health: s.on ? balancer : 'HEALTHCHECKS_OFF',
    balancer_health: balancer,
    id,
    details: {
      healthy: s.available,
      weight: {total: s.total, unavailable: s.unavailable, available: s.total - s.unavailable},
      hosts: s.targets.map((t) => targetStatus(t.key, t.weight, t.available, registry.resolution(id, t.key))),
    },
  }
}

/** `ip[:port]` as targets are stored: the port defaults to Kong's 8000, IPv6 in brackets. */
function normalizeAddress(address: string): string {
  const {host, port} = parseTarget(address)
  const explicit = /:\d+$/.test(address) && !(isIP(address) === 6)
  const h = isIP(host) === 6 ? `[${host}]` : host
  return `${h}:${explicit ? port : DEFAULT_TARGET_PORT}`
}
