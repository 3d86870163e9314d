import {createdAt, defineEntity, idField, tagsField, updatedAt} from '../field.js'
import * as t from '../typedefs.js'

const DEFAULT_PORTS: Record<string, number> = {http: 80, https: 443, ws: 80, wss: 443, grpc: 80, grpcs: 443}

const URL_FIELDS = ['protocol', 'host', 'port', 'path'] as const

/**
 * `url` shorthand: protocol, host, port and path in one string. Given with any of them,
 * one would silently replace the other (Kong keeps the url's, decK the field's), so
 * the entity is refused instead, in the words of Kong's own clash messages.
 */
function expandUrl(value: unknown, entity: Record<string, unknown>, input: Readonly<Record<string, unknown>>): string | null {
  if (typeof value !== 'string') return 'expected a string'
  let u: URL
  try {
    u = new URL(value)
  } catch {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return `invalid url: ${value}`
    // No scheme: as Kong's url parser, the whole string is the path and there is no
    // host, so the errors name the fields (`host: required field missing`, `path: …`).
    entity.protocol = 'http'
    entity.host = null
    entity.port = 80
    entity.path = value === '' ? null : value
    return null
  }
  const protocol = u.protocol.replace(/:$/, '')
  entity.protocol = protocol
  entity.host = u.hostname.startsWith('[') ? u.hostname : u.hostname
  entity.port = u.port ? Number(u.port) : (DEFAULT_PORTS[protocol] ?? 80)
  entity.path = u.pathname && (u.pathname !== '/' || value.replace(/^[a-z]+:\/\/[^/]+/i, '') === '/') ? decodeURI(u.pathname) : null
  // Checked once expanded, so the clash is the only error reported. A field that says what
  // the url says is no clash (Kong's own specs send `protocol: https` with an https url).
  const given = URL_FIELDS.filter((f) => input[f] !== undefined && input[f] !== null && String(input[f]) !== String(entity[f]))
  if (!given.length) return null
  const list = given.map((f) => `'${f}'`)
  const names = list.length > 1 ? `${list.slice(0, -1).join(', ')} or ${list.at(-1)}` : list[0]
  return `cannot set 'url' with ${names} simultaneously: the url sets protocol, host, port and path; give them in the url, or without 'url'`
}

export const services = defineEntity({
  name: 'services',
  singular: 'service',
  endpoint_key: 'name',
  fields: [
    idField(),
    createdAt(),
    updatedAt(),
    ['name', t.name('The service name.')],
    ['retries', {type: 'integer', default: 5, between: [0, 32767], description: 'Times to retry when proxying fails.'}],
    ['protocol', {type: 'string', required: true, default: 'http', one_of: t.protocols, description: 'Protocol used to reach the upstream.'}],
    ['host', {...t.host('Host of the upstream server, or the name of an upstream.'), required: true}],
    ['port', {...t.port('Upstream server port.', 80), required: true}],
    ['path', t.path('Path prefix used in requests to the upstream server.')],
    ['connect_timeout', t.timeout('Milliseconds to establish a connection to the upstream.')],
    ['write_timeout', t.timeout('Milliseconds between two writes to the upstream.')],
    ['read_timeout', t.timeout('Milliseconds between two reads from the upstream.')],
    tagsField(),
    ['client_certificate', {type: 'foreign', reference: 'certificates', description: 'Certificate presented to the upstream for mTLS.'}],
    ['tls_verify', {type: 'boolean', description: 'Whether to verify the upstream TLS certificate.'}],
    ['tls_verify_depth', {type: 'integer', between: [0, 64], description: 'Maximum depth of the upstream certificate chain.'}],
    ['ca_certificates', {type: 'array', elements: {type: 'string', uuid: true}, description: 'CA certificate ids used to verify the upstream.'}],
    ['enabled', {type: 'boolean', required: true, default: true, description: 'Whether the service is active.'}],
  ],
  shorthands: {url: expandUrl},
  entity_checks: [
    (e) =>
      // Kong's `conditional` check: the field's error and the entity's
      e.path != null && e.protocol !== 'http' && e.protocol !== 'https'
        ? {path: `value must be null`, '@entity': "failed conditional validation given value of field 'protocol'"}
        : null,
  ],
  nested: [
    {key: 'routes', entity: 'routes', via: 'service'},
    {key: 'plugins', entity: 'plugins', via: 'service'},
  ],
})
