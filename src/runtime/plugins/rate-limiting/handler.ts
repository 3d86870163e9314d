/**
 * rate-limiting: fixed calendar windows per period, counted per proxy (`local`), in the
 * node's Postgres (`cluster`, shared by every node and worker on the database) or in
 * Redis (`redis`, shared by every node). Kong's order: read usage, refuse when a limit
 * is reached (429 + headers), otherwise count this request and send the remaining
 * budget in X-RateLimit-* / RateLimit-*. When the counter store fails, `fault_tolerant`
 * proxies unlimited (and logs); otherwise the client gets a 500.
 *
 * `local` stays synchronous; `cluster` and `redis` await the read. A node without a
 * database (DB-less, data plane) has no store for `cluster`: it fails as a store would.
 */
import type pg from 'pg'
import {GATEWAY_VERSION, type PluginContext as Context, type PluginHandler, type ConfigOf} from '../../pdk/index.js'
import {LocalCounters, PERIODS, windowAt, windowOf, type Period} from './counters.js'
import {ClusterCounters, EMPTY_UUID} from './cluster-policy.js'
import {redisKey, RedisCounters} from './redis-policy.js'
import {schema} from './schema.js'

type Config = ConfigOf<typeof schema>

/** What rate-limiting keeps per proxy: one counter store per policy, made on first use. */
interface State {
  local: LocalCounters
  /** The node's Postgres (absent without one): where `cluster` counts. */
  database?: pg.Pool
  /** The node's trusted CAs (kong.conf `lua_ssl_trusted_certificate`), for redis over TLS with `ssl_verify`. */
  trusted?: string[]
  /** Made on the first request that uses the redis policy; closed with the proxy. */
  redis?: RedisCounters
  /** The cluster policy over `database`; made on first use. */
  cluster?: ClusterCounters
}

type PluginContext = Context<State>

const HEADER_LIMIT = Object.fromEntries(PERIODS.map((p) => [p, `x-ratelimit-limit-${p}`]))
const HEADER_REMAINING = Object.fromEntries(PERIODS.map((p) => [p, `x-ratelimit-remaining-${p}`]))

interface Window {
  period: Period
  start: number
  end: number
  key: string
}

/**
 * Whose counters these are: Kong keys them by the plugin instance's own route and service
 * (its `conf.route_id`/`conf.service_id`, null when unscoped), not by the route a request
 * matched, so a global or service-wide limit is one budget across all its routes.
 */
interface Scope {
  route: string | null
  service: string | null
}

const scopeOf = (k: PluginContext): Scope => ({route: k.instance?.route ?? null, service: k.instance?.service ?? null})

/** A configuration's limits, worked out once per configuration (its object) rather than per request. */
interface Limits {
  /** Slots (`PERIODS` indexes) of the periods it limits, in `PERIODS` order. */
  slots: number[]
  limits: number[]
  /** Each limit as the header value that states it. */
  limitText: string[]
}

const LIMITS = new WeakMap<Config, Limits>()

function limitsOf(conf: Config): Limits {
  let l = LIMITS.get(conf)
  if (l === undefined) {
    l = {slots: [], limits: [], limitText: []}
    PERIODS.forEach((period, slot) => {
      const limit = conf[period]
      if (limit == null) return
      l!.slots.push(slot)
      l!.limits.push(limit)
      l!.limitText.push(String(limit))
    })
    LIMITS.set(conf, l)
  }
  return l
}

/** The windows of `conf`'s limits containing `now`, one per limit (in `limitsOf` order), with their store keys. */
function windows(k: PluginContext, conf: Config, scope: Scope, now: number, redis: boolean): Window[] {
  const id = identifier(k, conf)
  const route = scope.route ?? EMPTY_UUID
  const service = scope.service ?? EMPTY_UUID
  return limitsOf(conf).slots.map((slot) => {
    const period = PERIODS[slot]
    const [start, end] = windowOf(period, now)
    return {period, start, end, key: redis ? redisKey(route, service, id, start, period) : `${route}:${service}:${id}:${period}`}
  })
}

/**
 * Kong's rules for every policy, over `used[i]` and `ends[i]` of each of `l`'s limits:
 * answers 429 when a limit is reached, or sets the headers; returns whether the request
 * may be counted and proxied. It makes no object unless it answers 429, as `local`
 * runs it on every request of a limited route.
 */
function decide(k: PluginContext, conf: Config, l: Limits, used: ArrayLike<number>, ends: ArrayLike<number>, now: number): boolean {
  const {slots, limits, limitText} = l
  // as Kong, over every period first: the ones not reached then show this request counted
  let exceeded = false
  for (let i = 0; i < slots.length && !exceeded; i++) exceeded = limits[i] - used[i] <= 0
  if (conf.hide_client_headers) {
    if (exceeded) k.error(conf.error_code, conf.error_message, {})
    return !exceeded
  }
  // only the 429 needs its headers as a record
  const headers: Record<string, string> | null = exceeded ? {} : null
  let best = -1
  let bestRemaining = 0
  for (let i = 0; i < slots.length; i++) {
    // a limit may be fractional (the schema, as Kong's, takes any number above 0): never below 0
    const remaining = Math.max(0, limits[i] - used[i] - (exceeded ? 0 : 1))
    // periods run shortest first: a tie goes to the longer window, as Kong's
    if (best < 0 || remaining <= bestRemaining) {
      best = i
      bestRemaining = remaining
    }
    const period = PERIODS[slots[i]]
    header(k, headers, HEADER_LIMIT[period], limitText[i])
    header(k, headers, HEADER_REMAINING[period], String(remaining))
  }
  if (best >= 0) {
    const reset = String(Math.max(1, Math.ceil((ends[best] - now) / 1000)))
    header(k, headers, 'ratelimit-limit', limitText[best])
    header(k, headers, 'ratelimit-remaining', String(bestRemaining))
    header(k, headers, 'ratelimit-reset', reset)
    if (headers) headers['retry-after'] = reset
  }
  if (headers) k.error(conf.error_code, conf.error_message, headers)
  return !exceeded
}

/** Into the 429's headers when there is one, else onto the response. */
function header(k: PluginContext, headers: Record<string, string> | null, name: string, value: string): void {
  if (headers) headers[name] = value
  else k.setResponseHeader(name, value)
}

function storeFailed(k: PluginContext, conf: Config, err: unknown): void {
  const why = (err as Error)?.message ?? String(err)
  if (!conf.fault_tolerant) throw new Error(`rate-limiting: failed to get usage from ${conf.policy}: ${why}`)
  k.log.error(`rate-limiting: failed to get usage from ${conf.policy}: ${why}; request not limited (fault_tolerant)`, {plugin: 'rate-limiting'})
}

async function redisAccess(k: PluginContext, conf: Config, scope: Scope): Promise<void> {
  const store = (k.state.redis ??= new RedisCounters(k.state.trusted))
  const now = Date.now()
  const ws = windows(k, conf, scope, now, true)
  let used: number[]
  try {
    used = await store.usage(conf, ws.map((w) => w.key))
  } catch (err) {
    return storeFailed(k, conf, err)
  }
  if (!decide(k, conf, limitsOf(conf), used, ws.map((w) => w.end), now)) return
  // As Kong, counting does not hold the request; a failure is only logged.
  store.increment(conf, ws.map((w) => [w.key, w.period])).catch((err) => k.log.error(`rate-limiting: failed to increment redis counters: ${(err as Error).message}`))
}

async function clusterAccess(k: PluginContext, conf: Config, scope: Scope): Promise<void> {
  const database = k.state.database
  if (!database) return storeFailed(k, conf, new Error("this node has no database (DB-less or data plane) to keep 'cluster' counters in; use policy 'local' or 'redis'"))
  const store = (k.state.cluster ??= new ClusterCounters(database))
  const now = Date.now()
  const ws = windows(k, conf, scope, now, false)
  const key = {identifier: identifier(k, conf), service: scope.service, route: scope.route, windows: ws}
  let used: number[]
  try {
    used = await store.usage(key)
  } catch (err) {
    return storeFailed(k, conf, err)
  }
  if (!decide(k, conf, limitsOf(conf), used, ws.map((w) => w.end), now)) return
  // As Kong (a timer), counting does not hold the request; a failure is only logged.
  store.increment(key).catch((err) => k.log.error(`rate-limiting: failed to increment cluster counters: ${(err as Error).message}`))
  store.sweep((err) => k.log.error(`rate-limiting: failed to delete expired cluster counters: ${err.message}`))
}

export const handler: PluginHandler<Config, unknown, State> = {
  name: 'rate-limiting',
  version: GATEWAY_VERSION,
  priority: 910,
  state: {
    create: (env) => ({local: new LocalCounters(), database: env.database, trusted: env.trustedCertificates}),
    close: (state) => state.redis?.close(),
  },
  access(k, conf) {
    const scope = scopeOf(k)
    if (conf.policy === 'redis') return redisAccess(k, conf, scope)
    if (conf.policy === 'cluster') return clusterAccess(k, conf, scope)
    return localAccess(k, conf, scope)
  },
}

/** `localAccess`'s per-request numbers, one per limit: it runs to the end without yielding, so one set serves every request. */
const STARTS = new Float64Array(PERIODS.length)
const ENDS = new Float64Array(PERIODS.length)
const USED = new Float64Array(PERIODS.length)

/**
 * The `local` policy, the one a single node counts in memory: one counter lookup per
 * request and no per-request objects, as it runs on every request of a limited route.
 */
function localAccess(k: PluginContext, conf: Config, scope: Scope): void {
  const l = limitsOf(conf)
  const slots = l.slots
  if (slots.length === 0) return
  const now = Date.now()
  const set = k.state.local.of(`${scope.route ?? EMPTY_UUID}:${scope.service ?? EMPTY_UUID}:${identifier(k, conf)}`)
  for (let i = 0; i < slots.length; i++) {
    windowAt(slots[i], now, STARTS, ENDS, i)
    USED[i] = LocalCounters.get(set, slots[i], STARTS[i])
  }
  if (!decide(k, conf, l, USED, ENDS, now)) return
  for (let i = 0; i < slots.length; i++) LocalCounters.increment(set, slots[i], STARTS[i], ENDS[i])
}

/** What the counters are per; the client IP when the chosen one is unknown (as Kong). */
function identifier(k: PluginContext, conf: Config): string {
  let id: string | undefined
  switch (conf.limit_by) {
    case 'consumer':
      id = k.consumer?.id ?? k.credential?.id
      break
    case 'credential':
      id = k.credential?.id
      break
    case 'service':
      id = k.service?.id
      break
    case 'header':
      id = k.header(String(conf.header_name).toLowerCase())
      break
    case 'path':
      id = k.path === conf.path ? k.path : undefined
      break
  }
  return id ?? k.ip
}
