/** Generators of hostile input for the fuzz tests, and their run settings. */
import fc from 'fast-check'

/** A fixed seed in CI; `FUZZ_SEED` and `FUZZ_SCALE` (a multiplier of each test's count) widen it. */
export function fuzzSettings(runs: number): fc.Parameters<unknown> {
  const scale = Number(process.env.FUZZ_SCALE ?? 1)
  return {seed: Number(process.env.FUZZ_SEED ?? 20261204), numRuns: Math.max(1, Math.round(runs * scale)), endOnFailure: true}
}

export interface HostileRequest {
  method: string
  target: string
  contentType?: string
  body: Buffer
}

const ENTITY_PATHS = [
  'services', 'routes', 'consumers', 'plugins', 'upstreams', 'targets', 'certificates', 'snis', 'ca_certificates',
  'key-auths', 'basic-auths', 'acls', 'key-auth', 'basic-auth', 'schemas', 'schemas/plugins', 'plugins/enabled',
  'clustering', 'clustering/data-planes', 'config', 'kctl', 'kctl/sync', 'status', 'status/ready', 'metrics', 'health',
  'tags', 'fuzzed', 'everything', 'routes/everything/service', 'services/fuzzed/routes', 'upstreams/u/targets/all',
]

const HOSTILE_SEGMENTS = [
  '', '%00', 'a%00b', '..', '.', '..%2f', '..%2F..%2Fetc%2Fpasswd', '%', '%E0%A4%A', '%ZZ', '%2F', '%C0%AE', '%FF%FE',
  '[', '@', ':', 'a:b@', '\\', '~', '*', '%20', '+', ';', ',', '$', '!', "'", '(', ')', '%7B%7D', '%5B%5D',
  '00000000-0000-0000-0000-000000000000', 'x'.repeat(5000), '%F0%9F%98%80', '%EF%BF%BF',
]

const segment = fc.oneof(
  {weight: 3, arbitrary: fc.constantFrom(...ENTITY_PATHS)},
  {weight: 3, arbitrary: fc.constantFrom(...HOSTILE_SEGMENTS)},
  {weight: 2, arbitrary: fc.string({maxLength: 24}).map(encodeURIComponent)},
  {weight: 1, arbitrary: fc.string({unit: 'binary', maxLength: 12}).map(encodeURIComponent)},
  {weight: 1, arbitrary: fc.uuid()},
)

const queryValue = fc.oneof(
  fc.constantFrom('', '%00', 'a,b', 'a/b', 'a,b/c', '-1', '0', '1001', '1e3', 'NaN', '%', 'x'.repeat(3000), '%FF', 'true', '[]'),
  fc.string({maxLength: 16}).map(encodeURIComponent),
)
const query = fc.oneof(
  {weight: 3, arbitrary: fc.constant('')},
  {weight: 2, arbitrary: fc.array(fc.tuple(fc.constantFrom('size', 'offset', 'tags', 'name', 'custom_id', 'username', 'balancer_health', 'flatten_errors', 'check_hash', 'id', '__proto__', 'a[b]'), queryValue), {minLength: 1, maxLength: 4})
    .map((pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`)},
  {weight: 1, arbitrary: fc.constantFrom('?', '??', '?&&', '?=', '?%00=%00', '?a=%', '#frag')},
)

const target = fc.tuple(fc.constantFrom('/', '/', '/', '//', '///'), fc.array(segment, {maxLength: 4}), query)
  .map(([lead, segments, q]) => `${lead}${segments.join('/')}${q}`)
  .filter((t) => !t.startsWith('/#'))

const METHODS = ['GET', 'GET', 'POST', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'PROPFIND', 'TRACE', 'MKCOL', 'PURGE', 'LOCK', 'SEARCH', 'REPORT']

const CONTENT_TYPES = [
  undefined, 'application/json', 'application/json', 'application/x-www-form-urlencoded', 'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz', 'multipart/form-data', 'text/plain', 'application/yaml', 'application/json; charset=latin1',
  'application/octet-stream', 'application/json;;;', '*/*',
]

const FIELD_NAMES = ['name', 'id', 'url', 'host', 'port', 'path', 'protocol', 'paths', 'hosts', 'methods', 'service', 'route', 'consumer',
  'config', 'username', 'custom_id', 'tags', 'key', 'enabled', 'retries', 'algorithm', 'target', 'weight', 'cert', 'key', 'snis',
  '__proto__', 'constructor', 'prototype', 'created_at', 'ttl', 'strip_path', 'headers', 'regex_priority', 'hash_on']

/** A JSON value of the depths and sizes that break careless code. */
const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  {weight: 4, arbitrary: fc.jsonValue({maxDepth: 4})},
  {weight: 3, arbitrary: fc.dictionary(fc.constantFrom(...FIELD_NAMES), fc.jsonValue({maxDepth: 3}), {maxKeys: 6})},
  {weight: 1, arbitrary: fc.constantFrom('a'.repeat(200_000), '\u0000', 'a\u0000b', '\ud800', -0, 1e308, Number.MAX_SAFE_INTEGER + 2)},
  {weight: 1, arbitrary: fc.record({name: fc.constantFrom('key-auth', 'rate-limiting', 'cors', 'acl', 'request-transformer', 'nope'), config: fc.jsonValue({maxDepth: 3})})},
)

const deepNesting = fc.integer({min: 100, max: 20_000}).chain((n) =>
  fc.constantFrom(`${'['.repeat(n)}${']'.repeat(n)}`, `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`, `{"config":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`),
)

const formBody = fc.array(
  fc.tuple(
    fc.oneof(fc.constantFrom(...FIELD_NAMES), fc.constantFrom('a[b][c]', '__proto__[x]', 'constructor.prototype.x', 'config.x.y', 'paths[]', 'paths[99999]', 'hosts[0]', 'a[', ']', '[]', 'config[minute]', 'tags[]')),
    fc.oneof(fc.string({maxLength: 20}), fc.constantFrom('%00', '%', '%FF', 'x'.repeat(5000))),
  ),
  {maxLength: 6},
).map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${/^%/.test(v) ? v : encodeURIComponent(v)}`).join('&'))

const multipartBody = fc.array(fc.tuple(fc.constantFrom(...FIELD_NAMES), fc.string({maxLength: 30})), {maxLength: 4})
  .map((parts) => parts.map(([k, v]) => `--xyz\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`).join('') + '--xyz--\r\n')

const body: fc.Arbitrary<Buffer> = fc.oneof(
  {weight: 3, arbitrary: fc.constant(Buffer.alloc(0))},
  {weight: 4, arbitrary: hostileJson.map((v) => Buffer.from(JSON.stringify(v) ?? 'null'))},
  {weight: 1, arbitrary: deepNesting.map((s) => Buffer.from(s))},
  {weight: 2, arbitrary: formBody.map((s) => Buffer.from(s))},
  {weight: 1, arbitrary: multipartBody.map((s) => Buffer.from(s))},
  // invalid UTF-8 inside a JSON string, and raw bytes
  {weight: 1, arbitrary: fc.uint8Array({maxLength: 64}).map((b) => Buffer.concat([Buffer.from('{"name":"'), Buffer.from(b), Buffer.from('"}')]))},
  {weight: 1, arbitrary: fc.uint8Array({maxLength: 256}).map((b) => Buffer.from(b))},
  {weight: 1, arbitrary: fc.constantFrom('{', '{"name":', '[1,2', '"', 'null', 'true', '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"x":1}}}').map((s) => Buffer.from(s))},
)

/** One request: method, target, content type and body, each drawn from what breaks careless servers. */
export function hostileRequest(): fc.Arbitrary<HostileRequest> {
  return fc.record({
    method: fc.constantFrom(...METHODS),
    target,
    contentType: fc.constantFrom(...CONTENT_TYPES),
    body,
  }).map((r) => ({...r, contentType: r.contentType ?? undefined}))
}
