/**
 * The router: built once per config snapshot, immutable, pure; a change of a few routes
 * makes a new router that shares all but what changed (updateRouter). Matchers are sorted by
 * Kong's priority (see compile.ts) and indexed by host, then by path:
 *
 *   request host ──► exact host bucket ─┐
 *               ├──► *.suffix buckets  ─┼──► PathIndex ──► candidates (rank order)
 *               ├──► prefix.* buckets  ─┤                     │ full check (method,
 *               └──► host-less bucket  ─┘                     ▼ headers, sni, port…)
 *                                                         lowest rank wins
 *
 * A lookup costs O(host labels + distinct prefix lengths + regex matchers in the
 * touched buckets), not O(routes).
 */
import {affixMatches, compareMatchers, compileRoute, type Matcher} from './compile.js'
import type {Entity} from '../schema/registry.js'
import {PathIndex} from './path-index.js'
import {ShardedMap} from './sharded-map.js'
import type {RouteMatch, Router, RouterRequest} from './types.js'
import {sanitizePostfix, upstreamPath} from './upstream-path.js'
import {escapePath} from './normalize.js'

export interface RouterInput {
  routes: ReadonlyArray<Entity<'routes'>>
  services: ReadonlyArray<Entity<'services'>>
}

/**
 * What changed since a router was built, for `updateRouter`: the routes to take out and
 * put back (changed, created, deleted, or of a changed service), and the services that
 * changed. `all` is the whole new configuration, for when a full build is needed.
 */
export interface RouterUpdate {
  /** Ids of the routes whose matchers go: changed, deleted, or of a changed service. */
  routeIds: ReadonlySet<string>
  /** The routes (among routeIds) as they are now; the deleted ones are absent. */
  routes: ReadonlyArray<Entity<'routes'>>
  /** Services changed (their new version) or deleted (null), by id. */
  services: ReadonlyMap<string, Entity<'services'> | null>
  all: RouterInput
}

const HTTP_PROTOCOLS = new Set(['http', 'https'])

/** A route's matchers, or none when the router leaves it out. */
function matchersOf(route: Entity<'routes'>, services: {get(id: string): Entity<'services'> | undefined}): Matcher[] {
  if (!(route.protocols ?? ['http', 'https']).some((p: string) => HTTP_PROTOCOLS.has(p))) return []
  const service = route.service?.id ? (services.get(route.service.id) ?? null) : null
  // Kong leaves the routes of a disabled service out of the router.
  if (service && service.enabled === false) return []
  return compileRoute(route, service)
}

/** Throws an Error naming the route on an invalid regex. */
export function buildRouter(input: RouterInput): Router {
  const services = new ShardedMap<Entity<'services'>>()
  for (const s of input.services) services.set(s.id, s)
  const matchers: Matcher[] = []
  for (const route of input.routes) for (const m of matchersOf(route, services)) matchers.push(m)
  matchers.sort(compareMatchers)
  matchers.forEach((m, i) => (m.rank = i))
  return IndexedRouter.build(matchers, services)
}

/**
 * The router of `prev` with `update` applied, without building it again: the changed
 * routes' matchers are compiled, placed in priority order between their neighbours (a
 * rank halfway between theirs, so no other matcher's rank changes), and only the host and
 * path buckets they are in are copied and changed; `prev` keeps serving unchanged.
 * Built from scratch instead when `prev` was not made here, or when two neighbours' ranks
 * have no number left between them (after ~50 inserts at one place): the result is the
 * same router either way.
 * Throws like buildRouter, before anything changed.
 */
export function updateRouter(prev: Router, update: RouterUpdate): Router {
  if (!(prev instanceof IndexedRouter)) return buildRouter(update.all)
  return prev.updated(update) ?? buildRouter(update.all)
}

class IndexedRouter implements Router {
  private exact = new ShardedMap<PathIndex>()
  private suffix = new ShardedMap<PathIndex>()
  private prefix = new ShardedMap<PathIndex>()
  private hostless = new PathIndex()
  /** Every matcher in priority order (rank ascending). */
  private sorted: Matcher[] = []
  private byRoute = new ShardedMap<Matcher[]>()
  private services = new ShardedMap<Entity<'services'>>()
  private headerMatchers = 0
  size = 0
  usesHeaders = false

  static build(matchers: Matcher[], services: ShardedMap<Entity<'services'>>): IndexedRouter {
    const r = new IndexedRouter()
    r.sorted = matchers
    r.services = services
    for (const m of matchers) {
      r.noteRoute(m)
      if (m.headers) r.headerMatchers++
      const get = (map: ShardedMap<PathIndex> | null, key: string) => {
        if (map === null) return r.hostless
        let idx = map.get(key)
        if (!idx) map.set(key, (idx = new PathIndex()))
        return idx
      }
      for (const idx of r.indexesOf(m, get)) idx.add(m)
    }
    for (const map of [r.exact, r.suffix, r.prefix]) for (const idx of map.values()) idx.freeze()
    r.hostless.freeze()
    r.size = matchers.length
    r.usesHeaders = r.headerMatchers > 0
    return r
  }

  private noteRoute(m: Matcher): void {
    const list = this.byRoute.get(m.route.id)
    if (list) list.push(m)
    else this.byRoute.set(m.route.id, [m])
  }

  /** The path indexes a matcher is in (one per distinct host rule, or the host-less one: map null). */
  private indexesOf(m: Matcher, get: (map: ShardedMap<PathIndex> | null, key: string) => PathIndex): PathIndex[] {
    if (!m.hosts) return [get(null, '')]
    const out: PathIndex[] = []
    for (const h of m.hosts) {
      const idx = get(this.hostMap(h.kind), h.value)
      if (!out.includes(idx)) out.push(idx)
    }
    return out
  }

  private hostMap(kind: string): ShardedMap<PathIndex> {
    return kind === 'exact' ? this.exact : kind === 'suffix' ? this.suffix : this.prefix
  }

  /** See updateRouter; null when ranks ran out (build it again). */
  updated(update: RouterUpdate): IndexedRouter | null {
    const services = this.services.fork()
    for (const [id, s] of update.services) {
      if (s) services.set(id, s)
      else services.delete(id)
    }
    // compiled first: an invalid route throws before anything changed
    const added: Matcher[] = []
    for (const route of update.routes) for (const m of matchersOf(route, services)) added.push(m)
    const gone = new Set<Matcher>()
    for (const id of update.routeIds) for (const m of this.byRoute.get(id) ?? []) gone.add(m)
    const sorted = this.sorted.slice()
    for (const m of gone) {
      // sorted by rank: found by binary search
      let lo = 0
      let hi = sorted.length - 1
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if (sorted[mid].rank < m.rank) lo = mid + 1
        else hi = mid
      }
      if (sorted[lo] === m) sorted.splice(lo, 1)
    }
    added.sort(compareMatchers)
    for (const m of added) {
      let lo = 0
      let hi = sorted.length
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if (compareMatchers(sorted[mid], m) < 0) lo = mid + 1
        else hi = mid
      }
      const before = lo > 0 ? sorted[lo - 1].rank : lo < sorted.length ? sorted[lo].rank - 2 : 0
      const after = lo < sorted.length ? sorted[lo].rank : before + 2
      const rank = (before + after) / 2
      if (!(rank > before && rank < after)) return null
      m.rank = rank
      sorted.splice(lo, 0, m)
    }
    const r = new IndexedRouter()
    r.sorted = sorted
    r.services = services
    r.byRoute = this.byRoute.fork()
    r.exact = this.exact.fork()
    r.suffix = this.suffix.fork()
    r.prefix = this.prefix.fork()
    r.hostless = this.hostless
    r.headerMatchers = this.headerMatchers
    // each touched path index is copied once, then changed
    const copied = new Set<PathIndex>()
    const writable = (map: ShardedMap<PathIndex> | null, key: string): PathIndex => {
      if (map === null) {
        if (!copied.has(r.hostless)) copied.add((r.hostless = r.hostless.fork()))
        return r.hostless
      }
      let idx = map.get(key)
      if (!idx) idx = new PathIndex()
      else if (!copied.has(idx)) idx = idx.fork()
      copied.add(idx)
      map.set(key, idx)
      return idx
    }
    for (const m of gone) {
      if (m.headers) r.headerMatchers--
      for (const idx of r.indexesOf(m, writable)) idx.remove(m)
    }
    for (const id of update.routeIds) r.byRoute.delete(id)
    for (const m of added) {
      if (m.headers) r.headerMatchers++
      r.noteRouteCopy(m)
      for (const idx of r.indexesOf(m, writable)) idx.insert(m)
    }
    // a host left without matchers goes, as a build would not have made it
    for (const m of gone)
      for (const h of m.hosts ?? []) {
        const map = r.hostMap(h.kind)
        if (map.get(h.value)?.isEmpty()) map.delete(h.value)
      }
    r.size = sorted.length
    r.usesHeaders = r.headerMatchers > 0
    return r
  }

  /** byRoute after a fork: the list is replaced, never changed in place. */
  private noteRouteCopy(m: Matcher): void {
    this.byRoute.set(m.route.id, [...(this.byRoute.get(m.route.id) ?? []), m])
  }

  match(req: RouterRequest): RouteMatch | null {
    const host = hostWithoutPort(req.host.toLowerCase())
    let best: Matcher | null = null
    let bestPath: RegExpExecArray | string | null = null
    const visit = (list: Matcher[]) => {
      for (const m of list) {
        if (best && m.rank >= best.rank) return
        const hit = test(m, req, host)
        if (hit !== undefined) {
          best = m
          bestPath = hit
        }
      }
    }
    for (const idx of this.hostIndexes(host)) idx.forEachCandidateList(req.path, visit)
    return best ? result(best, bestPath, req.path) : null
  }

  private *hostIndexes(host: string): Generator<PathIndex> {
    const exact = this.exact.get(host)
    if (exact) yield exact
    if (this.suffix.size) {
      // `*.example.com` is stored as `.example.com`; probe every suffix starting at a dot
      // (and at every char, for the rare `*example.com` form).
      for (let i = 1; i < host.length; i++) {
        const idx = this.suffix.get(host.slice(i))
        if (idx) yield idx
      }
    }
    if (this.prefix.size) {
      for (let i = host.length - 1; i > 0; i--) {
        const idx = this.prefix.get(host.slice(0, i))
        if (idx) yield idx
      }
    }
    yield this.hostless
  }
}

/**
 * Full check of one matcher. Returns undefined when it does not match, else the path hit:
 * the regex result, the matched prefix, or null for a path-less matcher.
 */
function test(m: Matcher, req: RouterRequest, host: string): RegExpExecArray | string | null | undefined {
  if (m.methods && !m.methods.has(req.method)) return undefined
  if (m.hosts && !m.hosts.some((h) => affixMatches(h, host) && (h.port === undefined || h.port === req.port))) return undefined
  if (m.headers && !m.headers.every((h) => headerMatches(h, req.headers[h.name]))) return undefined
  if (m.snis && req.scheme === 'https') {
    const sni = (req.sni ?? '').toLowerCase().replace(/\.$/, '')
    if (!m.snis.some((s) => affixMatches(s, sni))) return undefined
  }
  if (m.prefixes) {
    for (const p of m.prefixes) if (req.path.startsWith(p)) return p
    return undefined
  }
  if (m.regexes) {
    for (const re of m.regexes) {
      const r = re.exec(req.path)
      if (r) return r
    }
    return undefined
  }
  return null
}

function headerMatches(rule: Matcher['headers'] extends (infer T)[] | null ? T : never, value: string | string[] | undefined): boolean {
  if (value === undefined) return false
  const values = Array.isArray(value) ? value : [value]
  for (const raw of values) {
    const v = raw.toLowerCase()
    if (rule.values.has(v)) return true
    for (const re of rule.regexes) if (re.test(v)) return true
  }
  return false
}

function result(m: Matcher, hit: RegExpExecArray | string | null, path: string): RouteMatch {
  const route = m.route
  const matched = hit === null ? null : typeof hit === 'string' ? hit : hit[0]
  const strip = route.strip_path !== false && matched !== null
  const postfix = sanitizePostfix(strip ? path.slice(matched.length) : path.slice(1))
  const base = m.service?.path || '/'
  const captures =
    hit !== null && typeof hit !== 'string'
      ? {whole: hit[0], positional: hit.slice(1).map((c) => c ?? ''), named: {...(hit.groups ?? {})}}
      : null
  return {
    route,
    service: m.service,
    prefix: strip ? matched : null,
    captures,
    // Kong's `escape`: what normalization decoded (and what it need not) goes upstream escaped
    upstreamPath: escapePath(upstreamPath(route.path_handling ?? 'v0', strip, base, postfix, path)),
  }
}

/** Kong splits at the first `:` followed by digits; bracketed IPv6 keeps its brackets. */
export function hostWithoutPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']')
    return end > 0 ? host.slice(0, end + 1) : host
  }
  const i = host.indexOf(':')
  return i >= 0 && /^\d+$/.test(host.slice(i + 1)) ? host.slice(0, i) : host
}
