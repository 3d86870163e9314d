/**
 * A proxy snapshot: everything a request needs, built once per config version, off the
 * request path, then swapped in whole (see server.ts). Building is pure (no I/O) and
 * throws on an invalid config, so the caller keeps serving the previous snapshot.
 */
import {buildRouter, updateRouter} from '../router/router.js'
import type {Router} from '../router/types.js'
import {createBalancer, type Balancer} from './balancer/index.js'
import type {UpstreamConfig} from './health/registry.js'
import {buildCertificateTable, type CertificateTable} from './certificates.js'
import {buildPluginPlan, updatePluginPlan, type PluginPlan} from './plugins-plan.js'
import {findPlugin} from '../plugins/registry.js'
import {emptyEntitySet, type Entity, type EntitySet} from '../schema/registry.js'

/** Every entity of a configuration, by kind; derived from the schema registry. */
export type {EntitySet} from '../schema/registry.js'

export interface ProxySnapshot {
  readonly router: Router
  /** Balancers by upstream name (lower-case), which is what a service `host` names. */
  readonly balancers: ReadonlyMap<string, Balancer>
  /** Every upstream with its targets: what health checks follow (see health/registry.ts) and metrics show. */
  readonly upstreams: readonly UpstreamConfig[]
  readonly certificates: CertificateTable
  /** Enabled plugin instances, as configured. */
  readonly plugins: ReadonlyArray<Entity<'plugins'>>
  /** Per-route plugin plan: what runs, in which order, with which instance. */
  readonly pluginPlan: PluginPlan
  /** Milliseconds since the epoch when built; for logs and status. */
  readonly builtAt: number
}

/** Throws an Error that says what is invalid (route, certificate, upstream). */
export function buildSnapshot(config: EntitySet): ProxySnapshot {
  return Object.freeze({
    router: buildRouter({routes: config.routes ?? [], services: config.services ?? []}),
    ...balancing(config),
    certificates: buildCertificateTable(config.certificates ?? [], config.snis ?? []),
    plugins: enabledPlugins(config),
    pluginPlan: buildPluginPlan(config, findPlugin),
    builtAt: Date.now(),
  })
}

/** A changed entity: its kind, id and, when known, what it is now (null: deleted). */
export interface ChangedEntity {
  kind: string
  id: string
  entity?: Record<string, unknown> | null
}

/**
 * The snapshot of `config` made from `prev` (the snapshot of the configuration before
 * `changes`) by changing only what the changes reach, so that a change of one route at
 * 10,000 routes costs what one route costs:
 *   routes, services       the router is updated (updateRouter), and for routes the plan of
 *                          each changed route (updatePluginPlan);
 *   upstreams, targets     balancers built again;
 *   certificates, snis     the certificate table built again;
 *   any other kind         (plugins, consumers, credentials, …: what the plugin plan and the
 *                          handlers' `prepare` read) the plugin plan built again.
 * Everything else is shared with `prev`, which stays as it was. The result serves exactly
 * what buildSnapshot(config) serves.
 * Throws like buildSnapshot, before anything changed.
 */
export function updateSnapshot(prev: ProxySnapshot, config: EntitySet, changes: readonly ChangedEntity[]): ProxySnapshot {
  const kinds = new Set(changes.map((c) => c.kind))
  const routeIds = new Set(changes.filter((c) => c.kind === 'routes').map((c) => c.id))
  const changedServices = new Set(changes.filter((c) => c.kind === 'services').map((c) => c.id))
  // the changed routes as they are now: from the changes when they carry them (the last
  // change of an id wins), else looked up
  const changedRoutes = new Map<string, Entity<'routes'>>()
  const carried = changes.every((c) => c.kind !== 'routes' || c.entity !== undefined)
  if (carried) {
    for (const c of changes) {
      if (c.kind !== 'routes') continue
      if (c.entity) changedRoutes.set(c.id, c.entity as Entity<'routes'>)
      else changedRoutes.delete(c.id)
    }
  } else if (routeIds.size) {
    for (const r of config.routes ?? []) if (routeIds.has(r.id)) changedRoutes.set(r.id, r)
  }
  let router = prev.router
  if (routeIds.size || changedServices.size) {
    const services = new Map<string, Entity<'services'> | null>()
    for (const id of changedServices) services.set(id, null)
    for (const s of config.services ?? []) if (changedServices.has(s.id)) services.set(s.id, s)
    const all = new Set(routeIds)
    const routes = new Map(changedRoutes)
    // a changed service's routes are compiled again (their matchers hold the service)
    if (changedServices.size) {
      for (const r of config.routes ?? []) {
        if (r.service?.id && changedServices.has(r.service.id)) {
          all.add(r.id)
          routes.set(r.id, r)
        }
      }
    }
    router = updateRouter(prev.router, {routeIds: all, routes: [...routes.values()], services, all: {routes: config.routes ?? [], services: config.services ?? []}})
  }
  const planReads = [...kinds].some((k) => !SNAPSHOT_PARTS_ELSEWHERE.has(k))
  let pluginPlan = prev.pluginPlan
  if (planReads) pluginPlan = buildPluginPlan(config, findPlugin)
  else if (routeIds.size) pluginPlan = updatePluginPlan(prev.pluginPlan, routeIds, changedRoutes) ?? buildPluginPlan(config, findPlugin)
  const rebalance = kinds.has('upstreams') || kinds.has('targets')
  return Object.freeze({
    router,
    ...(rebalance ? balancing(config) : {balancers: prev.balancers, upstreams: prev.upstreams}),
    certificates: kinds.has('certificates') || kinds.has('snis') ? buildCertificateTable(config.certificates ?? [], config.snis ?? []) : prev.certificates,
    plugins: kinds.has('plugins') ? enabledPlugins(config) : prev.plugins,
    pluginPlan,
    builtAt: Date.now(),
  })
}

/** Kinds that only the router, the balancers or the certificate table read (not the plugin plan). */
const SNAPSHOT_PARTS_ELSEWHERE = new Set(['routes', 'services', 'upstreams', 'targets', 'certificates', 'snis'])

function balancing(config: EntitySet): Pick<ProxySnapshot, 'balancers' | 'upstreams'> {
  const targetsByUpstream = new Map<string, Array<Entity<'targets'>>>()
  for (const t of config.targets ?? []) {
    const id = t.upstream?.id
    if (!id) continue
    const list = targetsByUpstream.get(id)
    if (list) list.push(t)
    else targetsByUpstream.set(id, [t])
  }
  const balancers = new Map<string, Balancer>()
  for (const u of config.upstreams ?? []) {
    balancers.set(String(u.name).toLowerCase(), createBalancer(u, targetsByUpstream.get(u.id) ?? []))
  }
  return {balancers, upstreams: Object.freeze((config.upstreams ?? []).map((u) => ({upstream: u, targets: targetsByUpstream.get(u.id) ?? []})))}
}

const enabledPlugins = (config: EntitySet) => Object.freeze((config.plugins ?? []).filter((p) => p.enabled !== false))

export const emptySnapshot = (): ProxySnapshot => buildSnapshot(emptyEntitySet())
