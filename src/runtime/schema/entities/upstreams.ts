import {createdAt, defineEntity, idField, tagsField, updatedAt, type Field, type FieldList, type ScalarOf} from '../field.js'
import {isIP} from 'node:net'
import * as t from '../typedefs.js'

const statuses = (dflt: number[]) => ({type: 'array', default: dflt, elements: {type: 'integer', between: [100, 999]}}) as const satisfies Field
const counter = () => ({type: 'integer', default: 0, between: [0, 255]}) as const satisfies Field
const interval = () => ({type: 'number', default: 0, between: [0, 65535]}) as const satisfies Field

const activeHealthy = [
  ['interval', interval()],
  ['http_statuses', statuses([200, 302])],
  ['successes', counter()],
] as const satisfies FieldList
const activeUnhealthy = [
  ['interval', interval()],
  ['http_statuses', statuses([429, 404, 500, 501, 502, 503, 504, 505])],
  ['tcp_failures', counter()],
  ['timeouts', counter()],
  ['http_failures', counter()],
] as const satisfies FieldList
const passiveHealthy = [
  ['http_statuses', statuses([200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308])],
  ['successes', counter()],
] as const satisfies FieldList
const passiveUnhealthy = [
  ['http_statuses', statuses([429, 500, 503])],
  ['tcp_failures', counter()],
  ['timeouts', counter()],
  ['http_failures', counter()],
] as const satisfies FieldList
const checkType = {type: 'string', default: 'http', one_of: ['tcp', 'http', 'https', 'grpc', 'grpcs']} as const satisfies Field

const healthchecks = {
  type: 'record',
  description: 'Active and passive health check settings.',
  default: undefined,
  fields: [
    [
      'active',
      {
        type: 'record',
        fields: [
          ['type', checkType],
          ['timeout', {type: 'number', default: 1, between: [0, 65535]}],
          ['concurrency', {type: 'integer', default: 10, between: [1, 2 ** 31]}],
          ['http_path', {type: 'string', default: '/', starts_with: '/'}],
          ['https_sni', {type: 'string'}],
          ['https_verify_certificate', {type: 'boolean', default: true}],
          ['headers', {type: 'map', keys: {type: 'string'}, values: {type: 'array', elements: {type: 'string'}}}],
          ['healthy', {type: 'record', fields: activeHealthy}],
          ['unhealthy', {type: 'record', fields: activeUnhealthy}],
        ],
      },
    ],
    [
      'passive',
      {
        type: 'record',
        fields: [
          ['type', checkType],
          ['healthy', {type: 'record', fields: passiveHealthy}],
          ['unhealthy', {type: 'record', fields: passiveUnhealthy}],
        ],
      },
    ],
    ['threshold', {type: 'number', default: 0, between: [0, 100]}],
  ],
} as const satisfies Field

const hashOn = (dflt?: string): ScalarOf<'string'> => ({
  type: 'string',
  ...(dflt ? {default: dflt} : {}),
  one_of: ['none', 'consumer', 'ip', 'header', 'cookie', 'path', 'query_arg', 'uri_capture'],
})

/** Kong's upstream name check (`entities/upstreams.lua`): a host name, not an address, no port. */
function upstreamName(v: string): string | null {
  const bare = v.replace(/^\[(.*)\]$/, '$1')
  if (isIP(bare)) return `Invalid name ('${v}'); no ip addresses allowed`
  const withPort = /^(.*):(\d+)$/.exec(v)
  if (withPort && (isIP(withPort[1].replace(/^\[(.*)\]$/, '$1')) || t.validHost(withPort[1]))) {
    return isIP(withPort[1].replace(/^\[(.*)\]$/, '$1')) ? `Invalid name ('${v}'); no ip addresses allowed` : `Invalid name ('${v}'); no port allowed`
  }
  return t.validHost(v) ? null : `Invalid name ('${v}'); must be a valid hostname`
}

const headerName = (description: string): ScalarOf<'string'> => ({
  type: 'string',
  description,
  custom: (v: string) => (/^[A-Za-z0-9_-]+$/.test(v) ? null : `bad header name '${v}', allowed characters are A-Z, a-z, 0-9, '_', and '-'`),
})

const cookieName = (description: string): ScalarOf<'string'> => ({
  type: 'string',
  description,
  // RFC 6265 token, Kong's message (typedefs.cookie_name)
  custom: (v: string) =>
    /^[^\x00-\x20\x7f()<>@,;:\\"/?={}[\]]+$/.test(v)
      ? null
      : 'contains one or more invalid characters. ASCII control characters (0-31;127), space, tab and the characters ()<>@,;:\\"/?={}[] are not allowed.',
})

const HASH_ON = ['none', 'consumer', 'ip', 'header', 'cookie', 'path', 'query_arg', 'uri_capture']
/** What `hash_fallback` may be, given `hash_on` (Kong's conditional entity checks). */
const FALLBACKS: Record<string, string[]> = {
  none: ['none'],
  cookie: ['none'],
  consumer: HASH_ON.filter((h) => h !== 'consumer'),
  ip: ['none', 'consumer', 'header', 'cookie', 'path', 'query_arg', 'uri_capture'],
  path: ['none', 'consumer', 'header', 'cookie', 'query_arg', 'ip', 'uri_capture'],
}

const conditional = (ifField: string) => `failed conditional validation given value of field '${ifField}'`
const required = (ifField: string, ifValue: string, thenField: string) => (e: Record<string, unknown>) =>
  e[ifField] === ifValue && e[thenField] == null ? {'@entity': conditional(ifField), [thenField]: 'required field missing'} : null
const distinct = (a: string, b: string) => (e: Record<string, unknown>) =>
  e[a] != null && e[a] === e[b] ? {'@entity': `values of these fields must be distinct: '${a}', '${b}'`} : null

export const upstreams = defineEntity({
  name: 'upstreams',
  singular: 'upstream',
  endpoint_key: 'name',
  fields: [
    idField(),
    createdAt(),
    updatedAt(),
    ['name', {type: 'string', required: true, unique: true, custom: upstreamName, description: 'Hostname used as a service host to balance over this upstream.'}],
    ['algorithm', {type: 'string', default: 'round-robin', one_of: ['consistent-hashing', 'least-connections', 'round-robin', 'latency'], description: 'Load-balancing algorithm.'}],
    ['hash_on', {...hashOn('none'), description: 'What to hash on for consistent hashing.'}],
    // its allowed values depend on hash_on: checked with it below, as Kong's conditional checks
    ['hash_fallback', {type: 'string', default: 'none', description: 'What to hash on when hash_on yields nothing.'}],
    ['hash_on_header', headerName('Header name for hash_on = header.')],
    ['hash_fallback_header', headerName('Header name for hash_fallback = header.')],
    ['hash_on_cookie', cookieName('Cookie name for hash_on = cookie.')],
    ['hash_on_cookie_path', {type: 'string', default: '/', starts_with: '/', description: 'Path of the generated hash cookie.'}],
    ['hash_on_query_arg', {type: 'string', description: 'Query argument for hash_on = query_arg.'}],
    ['hash_fallback_query_arg', {type: 'string', description: 'Query argument for hash_fallback = query_arg.'}],
    ['hash_on_uri_capture', {type: 'string', description: 'Regex capture for hash_on = uri_capture.'}],
    ['hash_fallback_uri_capture', {type: 'string', description: 'Regex capture for hash_fallback = uri_capture.'}],
    ['slots', {type: 'integer', default: 10000, between: [10, 2 ** 16], description: 'Slots in the load balancer ring.'}],
    ['healthchecks', healthchecks],
    tagsField(),
    ['host_header', {...t.host('Host header to use when proxying to this upstream.')}],
    ['client_certificate', {type: 'foreign', reference: 'certificates', description: 'Certificate presented to targets for mTLS.'}],
    ['use_srv_name', {type: 'boolean', default: false, description: 'Use the SRV record name as the upstream Host.'}],
  ],
  entity_checks: [
    required('hash_on', 'header', 'hash_on_header'),
    required('hash_fallback', 'header', 'hash_fallback_header'),
    required('hash_on', 'cookie', 'hash_on_cookie'),
    required('hash_fallback', 'cookie', 'hash_on_cookie'),
    (e) => {
      const allowed = FALLBACKS[String(e.hash_on)] ?? HASH_ON
      return e.hash_fallback != null && !allowed.includes(e.hash_fallback as string) ? {'@entity': conditional('hash_on'), hash_fallback: `expected one of: ${allowed.join(', ')}`} : null
    },
    distinct('hash_on_header', 'hash_fallback_header'),
    required('hash_on', 'query_arg', 'hash_on_query_arg'),
    required('hash_fallback', 'query_arg', 'hash_fallback_query_arg'),
    distinct('hash_on_query_arg', 'hash_fallback_query_arg'),
    required('hash_on', 'uri_capture', 'hash_on_uri_capture'),
    required('hash_fallback', 'uri_capture', 'hash_fallback_uri_capture'),
    distinct('hash_on_uri_capture', 'hash_fallback_uri_capture'),
  ],
  nested: [{key: 'targets', entity: 'targets', via: 'upstream'}],
})
