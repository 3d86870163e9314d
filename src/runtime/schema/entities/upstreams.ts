import {createdAt, defineEntity, idField, tagsField, updatedAt, type Field, type FieldList, type ScalarOf} from '../field.js'
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
          ['concurrency', {type: 'integer', default: 10, between: [1, 2 ** 31 - 2]}],
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

export const upstreams = defineEntity({
  name: 'upstreams',
  singular: 'upstream',
  endpoint_key: 'name',
  fields: [
    idField(),
    createdAt(),
    updatedAt(),
    ['name', {...t.host('Hostname used as a service host to balance over this upstream.'), required: true, unique: true}],
    ['algorithm', {type: 'string', default: 'round-robin', one_of: ['consistent-hashing', 'least-connections', 'round-robin', 'latency'], description: 'Load-balancing algorithm.'}],
    ['hash_on', {...hashOn('none'), description: 'What to hash on for consistent hashing.'}],
    ['hash_fallback', {...hashOn('none'), description: 'What to hash on when hash_on yields nothing.'}],
    ['hash_on_header', {type: 'string', description: 'Header name for hash_on = header.'}],
    ['hash_fallback_header', {type: 'string', description: 'Header name for hash_fallback = header.'}],
    ['hash_on_cookie', {type: 'string', description: 'Cookie name for hash_on = cookie.'}],
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
  nested: [{key: 'targets', entity: 'targets', via: 'upstream'}],
})
