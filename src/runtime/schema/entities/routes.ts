import {createdAt, defineEntity, idField, tagsField, updatedAt, type EntityFields, type ScalarOf} from '../field.js'
import * as t from '../typedefs.js'
import {pcreToJs} from '../../kit/pcre.js'
import {normalizePath} from '../../router/normalize.js'

/**
 * Kong's `router_path`: a plain path (`/…`) or a regex (`~/…`), never an empty segment;
 * a regex must compile; a plain path must have complete escapes and be in the form the
 * router normalizes request paths to (else it could never match).
 */
const routePath: ScalarOf<'string'> = {
  type: 'string',
  custom: (v: string) => {
    if (!v.startsWith('/') && !v.startsWith('~/')) return 'should start with: / (fixed path) or ~/ (regex path)'
    if (v.includes('//')) return 'must not have empty segments'
    if (v.startsWith('~')) {
      try {
        new RegExp(pcreToJs(v.slice(1)))
        return null
      } catch (e) {
        return `invalid regex: '${v.slice(1)}' (${(e as Error).message.replace(/^Invalid regular expression: /, '')})`
      }
    }
    return plainPathError(v)
  },
}

/** RFC 3986's unreserved and reserved characters that may stand in a path, and `%`. */
const RFC3986_PATH = /^\/[A-Za-z0-9._~\/%:@!$&'()*+,;=-]*$/

/**
 * Of typedefs `path`'s checks, Kong's router paths keep the one on escapes (made only when
 * every character is one RFC 3986 allows), then ask for the normalized form.
 */
function plainPathError(v: string): string | null {
  const stray = RFC3986_PATH.test(v) ? v.replace(/%[0-9A-Fa-f]{2}/g, '___').match(/%.?.?/) : null
  if (stray) return `invalid url-encoded value: '${stray[0]}'`
  const normalized = normalizePath(v)
  return normalized === v ? null : `non-normalized path, consider use '${normalized}' instead`
}

const isGrpc = (e: EntityFields) => Array.isArray(e.protocols) && e.protocols.length > 0 && e.protocols.every((p: unknown) => p === 'grpc' || p === 'grpcs')
/** The route's protocols once its fields are checked (a set of strings, or unset). */
const protocolsOf = (e: EntityFields): readonly string[] => (Array.isArray(e.protocols) ? e.protocols : [])
/** Whether field `k` holds a value: set, and not an empty list or map. */
const isSet = (e: EntityFields, k: string) => {
  const v = e[k]
  return v != null && (typeof v !== 'object' || Object.keys(v).length > 0)
}

export const routes = defineEntity({
  name: 'routes',
  singular: 'route',
  endpoint_key: 'name',
  fields: [
    idField(),
    createdAt(),
    updatedAt(),
    ['name', t.name('The route name.')],
    [
      'protocols',
      {
        type: 'set',
        required: true,
        default: ['http', 'https'],
        len_min: 1,
        elements: {type: 'string', one_of: t.protocols},
        description: 'Protocols this route accepts.',
      },
    ],
    ['methods', {type: 'set', elements: {type: 'string', match: '^[A-Z]+$'}, description: 'HTTP methods that match.'}],
    ['hosts', {type: 'array', elements: t.wildcardHost('A host, with at most one `*` at either end.'), description: 'Host header values that match.'}],
    ['paths', {type: 'array', elements: routePath, description: 'Path prefixes, or regexes starting with `~`.'}],
    [
      'headers',
      {type: 'map', keys: {type: 'string', match: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$'}, values: {type: 'array', elements: {type: 'string'}}, description: 'Request headers that must match (keys AND, values OR).'},
    ],
    ['https_redirect_status_code', {type: 'integer', required: true, default: 426, one_of: [426, 301, 302, 307, 308], description: 'Status code when an HTTP request hits an HTTPS-only route.'}],
    ['regex_priority', {type: 'integer', default: 0, description: 'Priority among regex paths; higher wins.'}],
    ['strip_path', {type: 'boolean', required: true, default: true, description: 'Strip the matched path prefix before proxying.'}],
    ['path_handling', {type: 'string', default: 'v0', one_of: ['v0', 'v1'], description: 'How the service path and the request path are joined.'}],
    ['preserve_host', {type: 'boolean', required: true, default: false, description: 'Forward the client Host header to the upstream.'}],
    ['request_buffering', {type: 'boolean', required: true, default: true, description: 'Buffer request bodies.'}],
    ['response_buffering', {type: 'boolean', required: true, default: true, description: 'Buffer response bodies.'}],
    ['snis', {type: 'set', elements: t.wildcardHost('An SNI'), description: 'TLS server names that match.'}],
    ['sources', {type: 'set', elements: {type: 'record', fields: [['ip', {type: 'string'}], ['port', t.port('Source port')]]}, description: 'Stream sources.'}],
    ['destinations', {type: 'set', elements: {type: 'record', fields: [['ip', {type: 'string'}], ['port', t.port('Destination port')]]}, description: 'Stream destinations.'}],
    tagsField(),
    ['service', {type: 'foreign', reference: 'services', description: 'The service this route proxies to.'}],
  ],
  // Kong's routes have a subschema per protocol (subschema_key = "protocols"): protocols
  // none of which is known stop the validation there
  subschema_check: (e) => {
    const p = e.protocols
    const list: unknown[] = typeof p === 'string' ? [p] : Array.isArray(p) ? p : []
    if (list.length === 0 || list.some((x) => (t.protocols as readonly unknown[]).includes(x))) return null
    return {protocols: `unknown type: ${String(list[0])}`}
  },
  entity_checks: [
    (e) => {
      const httpish = protocolsOf(e).some((p) => p === 'http' || p === 'https')
      if (!httpish) return null
      if (['methods', 'hosts', 'headers', 'paths', 'snis'].some((k) => isSet(e, k))) return null
      const https = protocolsOf(e).includes('https')
      return {
        '@entity': https
          ? "must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'"
          : "must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'",
      }
    },
    (e) => {
      if (Array.isArray(e.snis) && e.snis.length && !protocolsOf(e).some((p) => ['https', 'grpcs', 'tls', 'tls_passthrough'].includes(p))) {
        return {snis: "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'"}
      }
      return null
    },
    // Kong's stream subschema (routes_subschemas.lua): a route whose protocols are all
    // tcp/tls/udp matches on sources, destinations or snis; tls_passthrough on snis
    (e) => {
      const protocols: string[] = Array.isArray(e.protocols) ? e.protocols : []
      if (protocols.length === 0) return null
      const set = (k: string) => Array.isArray(e[k]) && e[k].length > 0
      if (protocols.every((p) => p === 'tcp' || p === 'tls' || p === 'udp') && !['sources', 'destinations', 'snis'].some(set)) {
        return {'@entity': "must set one of 'sources', 'destinations', 'snis' when 'protocols' is 'tcp', 'tls' or 'udp'"}
      }
      if (protocols.every((p) => p === 'tls_passthrough') && !set('snis')) return {'@entity': "must set snis when 'protocols' is 'tls_passthrough'"}
      return null
    },
    // Kong's grpc subschema (routes_subschemas.lua)
    (e) => {
      if (!isGrpc(e)) return null
      const errors: Record<string, string> = {}
      if (e.strip_path === true) errors.strip_path = "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'"
      if (e.methods != null) errors.methods = "cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'"
      if (Object.keys(errors).length) return errors
      const grpcs = protocolsOf(e).includes('grpcs')
      const needed = grpcs ? ['hosts', 'headers', 'paths', 'snis'] : ['hosts', 'headers', 'paths']
      if (needed.some((k) => isSet(e, k))) return null
      return {'@entity': `must set one of ${needed.map((k) => `'${k}'`).join(', ')} when 'protocols' is '${grpcs ? 'grpcs' : 'grpc'}'`}
    },
  ],
  // a grpc route does not strip its path unless told (Kong's grpc subschema default)
  defaults: (e) => {
    if (e.strip_path === undefined && isGrpc(e)) e.strip_path = false
  },
  nested: [{key: 'plugins', entity: 'plugins', via: 'route'}],
})
