/**
 * The methods each Admin API path answers, by its shape, as Kong's router lists them for
 * `OPTIONS` (`kong/api/api_helpers.lua`): the route's own methods, plus HEAD where GET is,
 * plus OPTIONS, sorted. null: no such path (a 404, as Kong).
 */
import {ENTITIES, foreignKeys, getSchema} from '../schema/registry.js'

/** Kong's URL names of entities, from their schemas (`/key-auths`, `/consumers/{c}/key-auth`). */
export const ALIASES: Record<string, string> = Object.fromEntries(
  ENTITIES.flatMap((s) => [s.admin_api_name, s.admin_api_nested_name].filter((a): a is string => a !== undefined).map((a) => [a, s.name])),
)
export const alias = (s: string | undefined) => (s !== undefined ? (ALIASES[s] ?? s) : s)

const ENTITY = ['DELETE', 'GET', 'PATCH', 'PUT']
const COLLECTION = ['GET', 'POST']

function routeMethods(segments: string[]): string[] | null {
  const [first, second, third, fourth, ...rest] = segments
  if (segments.length === 0) return ['GET']
  if (first === 'status') return segments.length === 1 || (segments.length === 2 && second === 'ready') ? ['GET'] : null
  if (first === 'endpoints') return segments.length === 1 ? ['GET'] : null
  if (first === 'metrics') return segments.length === 1 ? ['GET'] : null
  if (first === 'tags') return segments.length <= 2 ? ['GET'] : null
  if (first === 'config') return segments.length === 1 ? ['GET', 'POST'] : null
  if (first === 'clustering') {
    if (segments.length === 2 && ['data-planes', 'status'].includes(second)) return ['GET']
    // kctl's: a data plane removed for good (kctl scale)
    return segments.length === 3 && second === 'data-planes' ? ['DELETE'] : null
  }
  if (first === 'kctl') return segments.length === 2 && second === 'sync' ? ['POST'] : null
  if (first === 'schemas') {
    if (segments.length === 2) return ['GET']
    if (segments.length === 3) return third === 'validate' ? ['POST'] : second === 'plugins' ? ['GET'] : null
    return null
  }
  if (first === 'plugins' && second === 'enabled' && segments.length === 2) return ['GET']
  if (first === 'upstreams' && third === 'health' && segments.length === 3) return ['GET']
  if (first === 'upstreams' && third === 'targets' && fourth === 'all' && segments.length === 4) return ['GET']
  if (first === 'upstreams' && third === 'targets' && (rest.length === 1 || rest.length === 2) && ['healthy', 'unhealthy'].includes(rest[rest.length - 1])) return ['PUT']
  const schema = getSchema(alias(first)!)
  if (!schema || rest.length) return null
  if (second === undefined) return COLLECTION
  if (third === undefined) return ENTITY
  const child = getSchema(alias(third)!)
  if (child && foreignKeys(child).some(([, f]) => f.reference === schema.name)) return fourth === undefined ? COLLECTION : ENTITY
  if (fourth === undefined && foreignKeys(schema).some(([name]) => name === third)) return ENTITY
  return null
}

/** `GET, HEAD, OPTIONS` for `/`; null for a path the Admin API does not have. */
export function allowedMethods(segments: string[]): string | null {
  const methods = routeMethods(segments)
  if (!methods) return null
  const all = new Set([...methods, 'OPTIONS'])
  if (all.has('GET')) all.add('HEAD')
  return [...all].sort().join(', ')
}

const STATIC_ENDPOINTS = [
  '/',
  '/clustering/data-planes',
  '/clustering/status',
  '/config',
  '/endpoints',
  '/kctl/sync',
  '/metrics',
  '/plugins/enabled',
  '/schemas/plugins/validate',
  '/schemas/plugins/{name}',
  '/schemas/{db_entity_name}/validate',
  '/schemas/{name}',
  '/status',
  '/status/ready',
  '/tags',
  '/tags/{tags}',
  '/upstreams/{upstreams}/health',
  '/upstreams/{upstreams}/targets/all',
  '/upstreams/{upstreams}/targets/{targets}/healthy',
  '/upstreams/{upstreams}/targets/{targets}/unhealthy',
  '/upstreams/{upstreams}/targets/{targets}/{address}/healthy',
  '/upstreams/{upstreams}/targets/{targets}/{address}/unhealthy',
]

/** A target's health set by hand: routes a node without a proxy (a control plane) does not have. */
const SET_HEALTH = /\/(un)?healthy$/

/**
 * Kong's `GET /endpoints`: every path template, entity ones derived from the schemas as
 * Kong's `endpoints.lua` generates them, sorted segment by segment. A control plane has no
 * `(un)healthy` routes, as Kong's in hybrid mode.
 */
export function endpointList(options: {controlPlane?: boolean} = {}): string[] {
  const out = new Set(options.controlPlane ? STATIC_ENDPOINTS.filter((e) => !SET_HEALTH.test(e)) : STATIC_ENDPOINTS)
  for (const s of ENTITIES) {
    const a = s.admin_api_name ?? s.name
    out.add(`/${a}`)
    out.add(`/${a}/{${s.name}}`)
    for (const [fk, f] of foreignKeys(s)) {
      const p = getSchema(f.reference)!
      const pa = p.admin_api_name ?? p.name
      const nested = s.admin_api_nested_name ?? a
      out.add(`/${a}/{${s.name}}/${fk}`)
      out.add(`/${pa}/{${p.name}}/${nested}`)
      out.add(`/${pa}/{${p.name}}/${nested}/{${s.name}}`)
    }
  }
  const key = (e: string) => e.replaceAll('/', '\x00')
  return [...out].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0))
}
