/**
 * Which plugins run for a request, and in which order: the runloop's plan (the runner
 * that runs their phases is plugins-runner.ts). Built once per snapshot, per route, so
 * that a request does no scanning: for each route, the plugins that can apply, in descending priority, each with the
 * instance that wins without a consumer and, when consumer-scoped instances exist, the
 * winner per consumer. Kong's precedence, most specific first:
 *
 *   route+service+consumer ▸ route+consumer ▸ service+consumer ▸ route+service
 *   ▸ consumer ▸ route ▸ service ▸ global
 *
 * A route+service instance outranks a consumer-only one, so the winner per consumer is
 * picked over the whole order (it may be an unscoped instance) and stored; at run time a
 * plugin resolves to `byConsumer.get(consumer.id) ?? base` — one map lookup once a
 * consumer is known.
 */
import type {PluginEntities, PluginInstance} from '../pdk/types.js'
import type {PluginDefinition} from '../plugins/registry.js'
import type {EntitySet} from '../schema/registry.js'
import {ShardedMap} from '../router/sharded-map.js'

export type {PluginInstance} from '../pdk/types.js'

export interface PlannedPlugin {
  def: PluginDefinition
  /** What the handler's `prepare` built from this snapshot. */
  data: unknown
  base: PluginInstance | null
  byConsumer: ReadonlyMap<string, PluginInstance> | null
}

export interface PluginPlan {
  /** Plugins for requests on this route; empty when none apply. */
  forRoute(routeId: string): readonly PlannedPlugin[]
  /**
   * The plugins of a request no route could be found for (one the HTTP parser refused):
   * those with a global instance, in descending priority.
   */
  readonly global: readonly PlannedPlugin[]
}

const key = (r: string | null, s: string | null, c: string | null) => `${r ?? ''}|${s ?? ''}|${c ?? ''}`
const EMPTY: readonly PlannedPlugin[] = Object.freeze([])

/** Instances of unknown plugins are skipped: the entity schema refuses them on write. */
export function buildPluginPlan(config: EntitySet, find: (name: string) => PluginDefinition | undefined): PluginPlan {
  const byName = new Map<string, Map<string, PluginInstance>>()
  const consumersByName = new Map<string, Set<string>>()
  for (const p of config.plugins ?? []) {
    if (p.enabled === false || !find(p.name)) continue
    const combos = byName.get(p.name) ?? new Map<string, PluginInstance>()
    byName.set(p.name, combos)
    const inst: PluginInstance = {id: p.id, name: p.name, config: p.config ?? {}, protocols: p.protocols ?? ['http', 'https'], route: p.route?.id ?? null, service: p.service?.id ?? null}
    combos.set(key(p.route?.id ?? null, p.service?.id ?? null, p.consumer?.id ?? null), inst)
    if (p.consumer?.id) {
      const set = consumersByName.get(p.name) ?? new Set<string>()
      set.add(p.consumer.id)
      consumersByName.set(p.name, set)
    }
  }
  const defs = [...byName.keys()].map((n) => find(n)!).sort((a, b) => b.priority - a.priority)
  // Every kind's rows are records with an id; the compiler cannot check the index
  // signature over the whole registry without instantiating too deep (TS2589).
  const entities = config as unknown as PluginEntities
  const data = new Map(defs.map((d) => [d.name, d.handler.prepare?.(entities)]))
  const planOf = (route: {id: string; service?: {id?: string} | null}): readonly PlannedPlugin[] => {
    const r: string = route.id
    const s: string | null = route.service?.id ?? null
    const list: PlannedPlugin[] = []
    for (const def of defs) {
      const combos = byName.get(def.name)!
      const pick = (...keys: string[]) => keys.map((k) => combos.get(k)).find((x) => x !== undefined) ?? null
      const rs = s ? key(r, s, null) : '-'
      const unscoped = [key(r, null, null), s ? key(null, s, null) : '-', key(null, null, null)]
      const base = pick(rs, ...unscoped)
      let byConsumer: Map<string, PluginInstance> | null = null
      for (const c of consumersByName.get(def.name) ?? []) {
        const won = pick(s ? key(r, s, c) : '-', key(r, null, c), s ? key(null, s, c) : '-', rs, key(null, null, c), ...unscoped)
        if (won && won !== base) (byConsumer ??= new Map()).set(c, won)
      }
      if (base || byConsumer) list.push({def, data: data.get(def.name), base, byConsumer})
    }
    return list.length ? Object.freeze(list) : EMPTY
  }
  const plans = new ShardedMap<readonly PlannedPlugin[]>()
  for (const route of config.routes ?? []) plans.set(route.id, planOf(route))
  const global: PlannedPlugin[] = []
  for (const def of defs) {
    const base = byName.get(def.name)!.get(key(null, null, null))
    if (base) global.push({def, data: data.get(def.name), base, byConsumer: null})
  }
  return planWith(plans, planOf, global.length ? Object.freeze(global) : EMPTY)
}

function planWith(plans: ShardedMap<readonly PlannedPlugin[]>, planOf: (route: {id: string; service?: {id?: string} | null}) => readonly PlannedPlugin[], global: readonly PlannedPlugin[]): PluginPlan & PlanInternals {
  return {forRoute: (id) => plans.get(id) ?? EMPTY, global, plans, planOf}
}

interface PlanInternals {
  plans: ShardedMap<readonly PlannedPlugin[]>
  planOf(route: {id: string; service?: {id?: string} | null}): readonly PlannedPlugin[]
}

/**
 * The plan of `prev` with the plans of some routes made again (changed or created routes
 * as they are now; a deleted route is absent from `routes` and loses its plan), without
 * going over every route. Only sound when nothing but routes changed among what the plan
 * reads (plugins, consumers, the kinds `prepare` reads); the caller builds it again
 * otherwise. null when `prev` was not made by buildPluginPlan.
 */
export function updatePluginPlan(prev: PluginPlan, routeIds: Iterable<string>, routes: ReadonlyMap<string, {id: string; service?: {id?: string} | null}>): PluginPlan | null {
  const internals = prev as Partial<PlanInternals>
  if (!internals.plans || !internals.planOf) return null
  const plans = internals.plans.fork()
  for (const id of routeIds) {
    const route = routes.get(id)
    if (route) plans.set(id, internals.planOf(route))
    else plans.delete(id)
  }
  return planWith(plans, internals.planOf, prev.global)
}
