/**
 * A proxy snapshot: everything a request needs, built once per config version, off the
 * request path, then swapped in whole (see server.ts). Building is pure (no I/O) and
 * throws on an invalid config, so the caller keeps serving the previous snapshot.
 */
import {buildRouter} from '../router/router.js'
import type {Router} from '../router/types.js'
import {createBalancer, type Balancer} from './balancer/index.js'
import type {UpstreamConfig} from './health/registry.js'
import {buildCertificateTable, type CertificateTable} from './certificates.js'
import {buildPluginPlan, type PluginPlan} from './plugins-plan.js'
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
  const router = buildRouter({routes: config.routes ?? [], services: config.services ?? []})
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
  return Object.freeze({
    router,
    balancers,
    upstreams: Object.freeze((config.upstreams ?? []).map((u) => ({upstream: u, targets: targetsByUpstream.get(u.id) ?? []}))),
    certificates: buildCertificateTable(config.certificates ?? [], config.snis ?? []),
    plugins: Object.freeze((config.plugins ?? []).filter((p) => p.enabled !== false)),
    pluginPlan: buildPluginPlan(config, findPlugin),
    builtAt: Date.now(),
  })
}

export const emptySnapshot = (): ProxySnapshot => buildSnapshot(emptyEntitySet())
