/**
 * Compiles a route into matchers, Kong `traditional_compatible` style: a route whose paths
 * differ in kind or length is split into one matcher per group (regex paths together,
 * prefix paths by length), because each group has its own priority.
 *
 * Priority, highest first (Kong's 64-bit ATC priority, kong/router/transform.lua):
 *
 *   weight ─ number of fields set among methods, hosts, headers, snis, paths
 *   plain  ─ every host is plain (no `*`)
 *   hcount ─ number of header keys
 *   regex  ─ the path group is regex (regex paths beat prefix paths)
 *   rprio  ─ regex_priority (regex groups only)
 *   length ─ prefix length (prefix groups only)
 *   then created_at (older first), then id, so the order is total and stable.
 */
import type {Entity} from '../schema/registry.js'
import {pcreToJs} from '../kit/pcre.js'

export type Affix = {kind: 'exact' | 'suffix' | 'prefix'; value: string}
export interface HostRule extends Affix {
  port?: number
}
export interface HeaderRule {
  name: string
  /** Lower-cased exact values; a request value matches any of them (OR). */
  values: Set<string>
  /** `~*` values: case-insensitive regexes, searched (not anchored), as Kong. */
  regexes: RegExp[]
}

export interface Matcher {
  /** Position in priority order; lower wins. Set by the router. */
  rank: number
  key: number[]
  route: Entity<'routes'>
  service: Entity<'services'> | null
  methods: Set<string> | null
  hosts: HostRule[] | null
  prefixes: string[] | null
  regexes: RegExp[] | null
  headers: HeaderRule[] | null
  snis: Affix[] | null
}

// Narrows to non-null only: false also means an empty array or object.
const nonEmpty = <T>(v: T): v is NonNullable<T> => v != null && (Array.isArray(v) ? v.length > 0 : typeof v === 'object' && Object.keys(v as object).length > 0)

/** Throws an Error naming the route when a path regex does not compile. */
export function compileRoute(route: Entity<'routes'>, service: Entity<'services'> | null): Matcher[] {
  const base = {
    methods: nonEmpty(route.methods) ? new Set<string>(route.methods.map((m: string) => m.toUpperCase())) : null,
    hosts: nonEmpty(route.hosts) ? (route.hosts as string[]).map(hostRule) : null,
    headers: nonEmpty(route.headers) ? headerRules(route) : null,
    snis: nonEmpty(route.snis) ? (route.snis as string[]).map(sniRule) : null,
  }
  const weight = [base.methods, base.hosts, base.headers, base.snis].filter(Boolean).length
  const plain = base.hosts != null && base.hosts.every((h) => h.kind === 'exact') ? 1 : 0
  const hcount = Math.min(base.headers?.length ?? 0, 255)
  const make = (prefixes: string[] | null, regexes: RegExp[] | null, key: number[]): Matcher => ({
    rank: 0, key, route, service, ...base, prefixes, regexes,
  })
  const paths: string[] = nonEmpty(route.paths) ? route.paths : []
  if (paths.length === 0) return [make(null, null, [weight, plain, hcount, 0, 0, 0])]
  const out: Matcher[] = []
  const regexPaths = paths.filter((p) => p.startsWith('~'))
  if (regexPaths.length) {
    const res = regexPaths.map((p) => compileRegexPath(route, p))
    out.push(make(null, res, [weight + 1, plain, hcount, 1, route.regex_priority ?? 0, 0]))
  }
  const byLength = new Map<number, string[]>()
  for (const p of paths) if (!p.startsWith('~')) byLength.set(p.length, [...(byLength.get(p.length) ?? []), p])
  for (const [len, group] of byLength) out.push(make(group, null, [weight + 1, plain, hcount, 0, 0, len]))
  return out
}

/** Kong anchors regex paths by prepending `^` (only that: `~/a|/b` leaves `/b` unanchored). */
function compileRegexPath(route: Entity<'routes'>, path: string): RegExp {
  try {
    return new RegExp('^' + pcreToJs(path.slice(1)))
  } catch (e) {
    throw new Error(`route ${route.name ?? route.id}: invalid regex path '${path}': ${(e as Error).message}`)
  }
}

export function compareMatchers(a: Matcher, b: Matcher): number {
  for (let i = 0; i < a.key.length; i++) if (a.key[i] !== b.key[i]) return b.key[i] - a.key[i]
  const ca = a.route.created_at ?? 0
  const cb = b.route.created_at ?? 0
  if (ca !== cb) return ca - cb
  return String(a.route.id ?? '') < String(b.route.id ?? '') ? -1 : String(a.route.id ?? '') > String(b.route.id ?? '') ? 1 : 0
}

/** `host`, `host:port`, `*.suffix`, `prefix.*` (lower-cased; IPv6 literals in brackets). */
function hostRule(h: string): HostRule {
  let host = h.toLowerCase()
  let port: number | undefined
  const m = /^(.*[^:\]]|\[.*\]):(\d+)$/.exec(host)
  if (m && !(host.includes('::') && !host.startsWith('['))) {
    host = m[1]
    port = Number(m[2])
  }
  return {...affix(host), port}
}

function sniRule(s: string): Affix {
  let v = s.toLowerCase()
  if (v.length > 1 && v.endsWith('.') && !v.endsWith('*')) v = v.slice(0, -1)
  return affix(v)
}

function affix(v: string): Affix {
  if (v.startsWith('*')) return {kind: 'suffix', value: v.slice(1)}
  if (v.endsWith('*')) return {kind: 'prefix', value: v.slice(0, -1)}
  return {kind: 'exact', value: v}
}

function headerRules(route: Entity<'routes'>): HeaderRule[] {
  return Object.entries(route.headers as Record<string, string[]>).map(([name, vals]) => {
    const values = new Set<string>()
    const regexes: RegExp[] = []
    for (const v of vals ?? []) {
      if (v.startsWith('~*')) {
        try {
          regexes.push(new RegExp(v.slice(2).toLowerCase(), 'i'))
        } catch (e) {
          throw new Error(`route ${route.name ?? route.id}: invalid regex header value '${v}': ${(e as Error).message}`)
        }
      } else {
        values.add(v.toLowerCase())
      }
    }
    return {name: name.toLowerCase(), values, regexes}
  })
}

export function affixMatches(rule: Affix, value: string): boolean {
  if (rule.kind === 'exact') return value === rule.value
  if (rule.kind === 'suffix') return value.length > rule.value.length && value.endsWith(rule.value)
  return value.length > rule.value.length && value.startsWith(rule.value)
}
