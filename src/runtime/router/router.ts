/**
 * The router: built once per config snapshot, immutable, pure. Matchers are sorted by
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
import type {RouteMatch, Router, RouterRequest} from './types.js'
import {sanitizePostfix, upstreamPath} from './upstream-path.js'

export interface RouterInput {
  routes: ReadonlyArray<Entity<'routes'>>
  services: ReadonlyArray<Entity<'services'>>
}

const HTTP_PROTOCOLS = new Set(['http', 'https'])

/** Throws an Error naming the route on an invalid regex. */
export function buildRouter(input: RouterInput): Router {
  const services = new Map<string, Entity<'services'>>(input.services.map((s) => [s.id, s]))
  const matchers: Matcher[] = []
  for (const route of input.routes) {
    if (!(route.protocols ?? ['http', 'https']).some((p: string) => HTTP_PROTOCOLS.has(p))) continue
    const service = route.service?.id ? (services.get(route.service.id) ?? null) : null
    // Kong leaves the routes of a disabled service out of the router.
    if (service && service.enabled === false) continue
    matchers.push(...compileRoute(route, service))
  }
  matchers.sort(compareMatchers)
  matchers.forEach((m, i) => (m.rank = i))
  return new IndexedRouter(matchers)
}

class IndexedRouter implements Router {
  private readonly exact = new Map<string, PathIndex>()
  private readonly suffix = new Map<string, PathIndex>()
  private readonly prefix = new Map<string, PathIndex>()
  private readonly hostless = new PathIndex()
  readonly size: number
  readonly usesHeaders: boolean

  constructor(matchers: Matcher[]) {
    this.size = matchers.length
    this.usesHeaders = matchers.some((m) => m.headers !== null)
    const bucket = (map: Map<string, PathIndex>, key: string) => {
      let idx = map.get(key)
      if (!idx) map.set(key, (idx = new PathIndex()))
      return idx
    }
    for (const m of matchers) {
      if (!m.hosts) {
        this.hostless.add(m)
        continue
      }
      const seen = new Set<PathIndex>()
      for (const h of m.hosts) {
        const idx = bucket(h.kind === 'exact' ? this.exact : h.kind === 'suffix' ? this.suffix : this.prefix, h.value)
        if (!seen.has(idx)) idx.add(m)
        seen.add(idx)
      }
    }
    for (const map of [this.exact, this.suffix, this.prefix]) for (const idx of map.values()) idx.freeze()
    this.hostless.freeze()
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
      ? {positional: hit.slice(1).map((c) => c ?? ''), named: {...(hit.groups ?? {})}}
      : null
  return {
    route,
    service: m.service,
    prefix: strip ? matched : null,
    captures,
    upstreamPath: upstreamPath(route.path_handling ?? 'v0', strip, base, postfix, path),
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
