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
import {LocalCounters, PERIODS, windowOf, type Period} from './counters.js'
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
  limit: number
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

function windows(k: PluginContext, conf: Config, scope: Scope, now: number, redis: boolean): Window[] {
  const id = identifier(k, conf)
  const route = scope.route ?? EMPTY_UUID
  const service = scope.service ?? EMPTY_UUID
  const out: Window[] = []
  for (const period of PERIODS) {
    const limit = conf[period]
    if (limit == null) continue
    const [start, end] = windowOf(period, now)
    out.push({period, limit, start, end, key: redis ? redisKey(route, service, id, start, period) : `${route}:${service}:${id}:${period}`})
  }
  return out
}

/** Answers 429 or sets the headers; returns whether the request may be counted and proxied. */
function decide(k: PluginContext, conf: Config, ws: Window[], used: number[], now: number): boolean {
  let best: {limit: number; remaining: number; end: number} | null = null
  let exceeded = false
  const headers: Record<string, string> = {}
  ws.forEach((w, i) => {
    if (w.limit - used[i] <= 0) exceeded = true
    const remaining = Math.max(0, w.limit - used[i] - (exceeded ? 0 : 1))
    if (!best || remaining < best.remaining || (remaining === best.remaining && w.end > best.end)) best = {limit: w.limit, remaining, end: w.end}
    headers[HEADER_LIMIT[w.period]] = String(w.limit)
    headers[HEADER_REMAINING[w.period]] = String(remaining)
  })
  if (best) {
    const b = best as {limit: number; remaining: number; end: number}
    const reset = Math.max(1, Math.ceil((b.end - now) / 1000))
    headers['ratelimit-limit'] = String(b.limit)
    headers['ratelimit-remaining'] = String(b.remaining)
    headers['ratelimit-reset'] = String(reset)
    if (exceeded) headers['retry-after'] = String(reset)
  }
  if (exceeded) {
    k.error(conf.error_code, conf.error_message, conf.hide_client_headers ? {} : headers)
    return false
  }
  if (!conf.hide_client_headers) for (const [h, v] of Object.entries(headers)) k.setResponseHeader(h, v)
  return true
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
  if (!decide(k, conf, ws, used, now)) return
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
  if (!decide(k, conf, ws, used, now)) return
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

/**
 * The `local` policy, the one a single node counts in memory: `decide`'s rules, with one
 * counter lookup per request and no per-request window objects, as it runs on every request
 * of a limited route.
 */
function localAccess(k: PluginContext, conf: Config, scope: Scope): void {
  const {slots, limits, limitText} = limitsOf(conf)
  if (slots.length === 0) return
  const now = Date.now()
  const set = k.state.local.of(`${scope.route ?? EMPTY_UUID}:${scope.service ?? EMPTY_UUID}:${identifier(k, conf)}`)
  const starts: number[] = []
  const ends: number[] = []
  let exceeded = false
  for (let i = 0; i < slots.length; i++) {
    const [start, end] = windowOf(PERIODS[slots[i]], now)
    starts.push(start)
    ends.push(end)
    if (limits[i] - LocalCounters.get(set, slots[i], start) <= 0) exceeded = true
  }
  if (exceeded) {
    const ws = slots.map((slot, i): Window => ({period: PERIODS[slot], limit: limits[i], start: starts[i], end: ends[i], key: ''}))
    decide(k, conf, ws, slots.map((slot, i) => LocalCounters.get(set, slot, starts[i])), now)
    return
  }
  // under every limit: decide's headers, set directly, and the request counted
  let best = -1
  let bestRemaining = 0
  for (let i = 0; i < slots.length; i++) {
    // a limit may be fractional (the schema, as Kong's, takes any number above 0): never below 0
    const remaining = Math.max(0, limits[i] - LocalCounters.get(set, slots[i], starts[i]) - 1)
    if (best < 0 || remaining < bestRemaining || (remaining === bestRemaining && ends[i] > ends[best])) {
      best = i
      bestRemaining = remaining
    }
    if (!conf.hide_client_headers) {
      const period = PERIODS[slots[i]]
      k.setResponseHeader(HEADER_LIMIT[period], limitText[i])
      k.setResponseHeader(HEADER_REMAINING[period], String(remaining))
    }
    LocalCounters.increment(set, slots[i], starts[i], ends[i])
  }
  if (!conf.hide_client_headers) {
    k.setResponseHeader('ratelimit-limit', limitText[best])
    k.setResponseHeader('ratelimit-remaining', String(bestRemaining))
    k.setResponseHeader('ratelimit-reset', String(Math.max(1, Math.ceil((ends[best] - now) / 1000))))
  }
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
