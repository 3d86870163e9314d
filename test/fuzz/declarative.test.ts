/**
 * Property-based fuzzing of `kctl validate`'s engine: generated declarative files (kong.yaml
 * shapes with random fields and values, random bytes, truncations of a valid file), as YAML
 * and JSON. Each either validates or is refused as a user error listing its problems; none
 * crashes the engine with a bug or hangs it.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, test} from 'node:test'
import fc from 'fast-check'
import {stringify} from 'yaml'
import {KctlError} from '../../src/kit/errors.js'
import {validate} from '../../src/services/validate.js'
import {fuzzSettings} from './arbitraries.js'

const dir = mkdtempSync(join(tmpdir(), 'kctl-fuzz-decl-'))
after(() => rmSync(dir, {recursive: true, force: true}))

const VALID = `_format_version: "3.0"
services:
  - name: svc
    url: http://127.0.0.1:9000/base
    routes:
      - name: r1
        paths: [/a, "~/b/(?<x>\\\\d+)$"]
        plugins:
          - name: key-auth
            config: {key_names: [apikey]}
consumers:
  - username: alice
    keyauth_credentials: [{key: secret}]
    acls: [{group: admins}]
upstreams:
  - name: up
    targets: [{target: "127.0.0.1:9001", weight: 50}]
plugins:
  - name: rate-limiting
    config: {minute: 10, policy: local}
`

const anyValue = fc.jsonValue({maxDepth: 3})
const field = (names: string[]) => fc.dictionary(fc.oneof(fc.constantFrom(...names), fc.string({maxLength: 8})), fc.oneof(anyValue, fc.constantFrom(null, '', '/', 'http://x', -1, 0, 65536, true)), {maxKeys: 5})

const route = field(['name', 'paths', 'hosts', 'methods', 'headers', 'protocols', 'service', 'strip_path', 'snis', 'plugins', 'id', 'tags'])
const service = fc.tuple(field(['name', 'url', 'host', 'port', 'path', 'protocol', 'retries', 'id', 'tags', 'connect_timeout']), fc.array(route, {maxLength: 3}))
  .map(([s, routes]) => (routes.length ? {...s, routes} : s))
const plugin = fc.record({name: fc.constantFrom('key-auth', 'rate-limiting', 'cors', 'acl', 'basic-auth', 'ip-restriction', 'request-transformer', 'nope', ''), config: anyValue}, {requiredKeys: ['name']})
const consumer = fc.tuple(field(['username', 'custom_id', 'tags']), fc.array(field(['key', 'ttl', 'group', 'username', 'password']), {maxLength: 2}))
  .map(([c, creds]) => (creds.length ? {...c, keyauth_credentials: creds} : c))
const upstream = fc.tuple(field(['name', 'algorithm', 'hash_on', 'slots', 'healthchecks']), fc.array(field(['target', 'weight']), {maxLength: 3}))
  .map(([u, targets]) => (targets.length ? {...u, targets} : u))

const kongFile = fc.record({
  _format_version: fc.constantFrom('3.0', '3.0', '2.1', '1.1', '9', 3, null),
  _transform: fc.boolean(),
  services: fc.array(service, {maxLength: 4}),
  routes: fc.array(route, {maxLength: 2}),
  consumers: fc.array(consumer, {maxLength: 3}),
  plugins: fc.array(plugin, {maxLength: 3}),
  upstreams: fc.array(upstream, {maxLength: 2}),
  certificates: fc.array(field(['cert', 'key', 'snis']), {maxLength: 1}),
}, {requiredKeys: []})

const fileText: fc.Arbitrary<{text: string | Buffer; ext: string}> = fc.oneof(
  {weight: 4, arbitrary: kongFile.map((f) => ({text: stringify(f), ext: 'yaml'}))},
  {weight: 2, arbitrary: kongFile.map((f) => ({text: JSON.stringify(f), ext: 'json'}))},
  {weight: 2, arbitrary: fc.integer({min: 0, max: VALID.length}).map((n) => ({text: VALID.slice(0, n), ext: 'yaml'}))},
  {weight: 1, arbitrary: fc.uint8Array({maxLength: 512}).map((b) => ({text: Buffer.from(b), ext: 'yaml'}))},
  {weight: 1, arbitrary: fc.string({maxLength: 300}).map((s) => ({text: s, ext: 'yaml'}))},
  {weight: 1, arbitrary: fc.constantFrom('a: &a [*a]', '{', '- - - -', 'services: !!binary AAAA', `${'- '.repeat(2000)}x`, 'services: [*undefined]', '? [a]\n: b').map((s) => ({text: s, ext: 'yaml'}))},
)

test('validate: every generated file validates or is refused as a user error, never a crash or a hang', async () => {
  let n = 0
  await fc.assert(
    fc.asyncProperty(fileText, async ({text, ext}) => {
      const file = join(dir, `kong-${++n}.${ext}`)
      writeFileSync(file, text)
      const started = Date.now()
      try {
        const r = await validate({files: [file]})
        assert.equal(r.valid, true)
      } catch (err) {
        assert.ok(err instanceof KctlError, `not a user error for ${JSON.stringify(String(text).slice(0, 300))}: ${(err as Error)?.stack}`)
        assert.notEqual((err as KctlError).code, 'BUG', String(err))
        assert.ok((err as Error).message.length > 0)
      }
      assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`)
    }),
    fuzzSettings(400),
  )
})

test('the valid file of the generator is valid (the generator exercises a real pass path)', async () => {
  const file = join(dir, 'valid.yaml')
  writeFileSync(file, VALID)
  const r = await validate({files: [file]})
  assert.equal(r.entities.services, 1)
  assert.equal(r.entities.routes, 1)
})
