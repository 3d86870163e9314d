/**
 * A DB-less traditional node as a real process: loads `declarative_config` at start,
 * proxies from it, serves `/config` (Kong's envelope, flatten_errors, check_hash) and the
 * entity endpoints read-only; a bad config changes nothing.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {findFreePort} from '../../src/kit/ports.js'
import {fetchState} from '../../src/declarative/admin-client.js'
import {configHash} from '../../src/runtime/clustering/config-hash.js'
import {exportConfig} from '../../src/runtime/clustering/export.js'
import {killAll, type NodeProcess, spawnNode} from '../helpers/nodes.js'

const dir = mkdtempSync(join(tmpdir(), 'kctl-dbless-'))
let upstream: {server: Server; port: number}
let node: NodeProcess
let admin: string
let proxy: string
let status: string

const kongYaml = (port: number, extra = '') => `_format_version: "3.0"
services:
- name: echo
  url: http://127.0.0.1:${port}
  routes:
  - name: r1
    paths: [/one]
consumers:
- username: alice
  keyauth_credentials:
  - key: alice-key
${extra}`

async function call(method: string, path: string, body?: string, type = 'application/json') {
  const res = await fetch(admin + path, {method, headers: body === undefined ? {} : {'content-type': type}, body})
  const text = await res.text()
  return {status: res.status, body: text ? JSON.parse(text) : undefined}
}

/** An upstream that echoes the path it received. */
function startUpstream(): Promise<{server: Server; port: number}> {
  const server = createServer((req, res) => res.end(JSON.stringify({path: req.url})))
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({server, port: (server.address() as {port: number}).port})))
}

before(async () => {
  upstream = await startUpstream()
  const file = join(dir, 'kong.yaml')
  writeFileSync(file, kongYaml(upstream.port))
  const [a, p, s] = [await findFreePort(), await findFreePort(), await findFreePort()]
  admin = `http://127.0.0.1:${a}`
  proxy = `http://127.0.0.1:${p}`
  status = `http://127.0.0.1:${s}`
  node = spawnNode(dir, {database: 'off', declarative_config: file, admin_listen: `127.0.0.1:${a}`, proxy_listen: `127.0.0.1:${p}`, status_listen: `127.0.0.1:${s}`}, {status})
  await node.waitReady()
})
after(async () => {
  await node?.stop()
  killAll()
  upstream?.server.close()
  rmSync(dir, {recursive: true, force: true})
})

describe('DB-less traditional node', () => {
  test('serves the proxy and the entities from declarative_config', async () => {
    const res = await fetch(`${proxy}/one/x`)
    assert.equal(res.status, 200)
    assert.equal((await res.json()).path, '/x')
    const services = await call('GET', '/services')
    assert.equal(services.body.data.length, 1)
    assert.equal(services.body.data[0].name, 'echo')
    assert.equal((await call('GET', '/services/echo/routes')).body.data[0].name, 'r1')
    assert.equal((await call('GET', '/consumers/alice/key-auth')).body.data[0].key, 'alice-key')
    assert.deepEqual(await call('GET', '/status/ready'), {status: 200, body: {message: 'ready'}})
    const st = await call('GET', '/status')
    assert.match(st.body.configuration_hash, /^[0-9a-f]{32}$/)
    assert.notEqual(st.body.configuration_hash, '0'.repeat(32))
  })

  test('the configuration hash is Kong’s hash of the loaded entities, as a control plane computes it', async () => {
    // The entities as the node serves them (generated ids, defaults), exported as a CP
    // exports its database for data planes.
    const entities = await fetchState(admin)
    const expected = configHash(exportConfig(entities)).config
    assert.equal((await call('GET', '/status')).body.configuration_hash, expected)
    // check_hash compares the same hash: the same entities (a dump posted back) are a 304,
    // one changed field is not.
    const dumped = JSON.parse((await call('GET', '/config?format=json')).body.config)
    assert.equal((await call('POST', '/config?check_hash=1', JSON.stringify(dumped))).status, 304)
    dumped.services[0].retries = 4
    assert.equal((await call('POST', '/config?check_hash=1', JSON.stringify(dumped))).status, 201)
    assert.notEqual((await call('GET', '/status')).body.configuration_hash, expected)
    dumped.services[0].retries = 5
    assert.equal((await call('POST', '/config', JSON.stringify(dumped))).status, 201)
    assert.equal((await call('GET', '/status')).body.configuration_hash, expected)
  })

  test('writes answer 405 with Kong’s DB-less message', async () => {
    const post = await call('POST', '/services', JSON.stringify({host: 'x'}))
    assert.equal(post.status, 405)
    assert.deepEqual(post.body, {code: 12, name: 'operation unsupported', message: "cannot create 'services' entities when not using a database"})
    assert.equal((await call('PATCH', '/services/echo', '{}')).body.message, "cannot update 'services' entities by 'name' when not using a database")
    assert.equal((await call('DELETE', '/routes/r1')).body.message, "cannot remove 'routes' entities by 'name' when not using a database")
    assert.equal((await call('PUT', `/services/${crypto.randomUUID()}`, '{}')).body.message, "cannot create or update 'services' entities when not using a database")
  })

  test('GET /config returns the configuration; posting it back with check_hash=1 is a 304', async () => {
    const yaml = await call('GET', '/config')
    assert.match(yaml.body.config, /_format_version: "?3.0"?/)
    assert.match(yaml.body.config, /name: echo/)
    const asJson = JSON.parse((await call('GET', '/config?format=json')).body.config)
    assert.equal(asJson.services.length, 1)
    const same = kongYaml(upstream.port)
    assert.equal((await call('POST', '/config?check_hash=1', same, 'application/yaml')).status, 304)
  })

  test('POST /config replaces the configuration (YAML, JSON, form and multipart bodies)', async () => {
    const before = (await call('GET', '/services/echo')).body
    const next = kongYaml(upstream.port).replace('/one', '/two')
    const res = await call('POST', '/config', next, 'text/yaml')
    assert.equal(res.status, 201)
    assert.equal(Object.keys(res.body.services).length, 1)
    assert.equal((await fetch(`${proxy}/one`)).status, 404)
    assert.equal((await fetch(`${proxy}/two`)).status, 200)
    // Same natural key, same id: re-posting a file without ids keeps them.
    assert.equal((await call('GET', '/services/echo')).body.id, before.id)
    const form = new URLSearchParams({config: kongYaml(upstream.port)}).toString()
    assert.equal((await call('POST', '/config', form, 'application/x-www-form-urlencoded')).status, 201)
    assert.equal((await fetch(`${proxy}/one`)).status, 200)
    const fd = new FormData()
    fd.set('config', new Blob([next]), 'kong.yml')
    const multi = await fetch(`${admin}/config`, {method: 'POST', body: fd})
    assert.equal(multi.status, 201)
    assert.equal((await fetch(`${proxy}/two`)).status, 200)
    const wrapped = await call('POST', '/config', JSON.stringify({config: kongYaml(upstream.port)}))
    assert.equal(wrapped.status, 201)
    assert.equal((await fetch(`${proxy}/one`)).status, 200)
  })

  test('an invalid config answers Kong’s code 14 envelope and changes nothing', async () => {
    const hash = (await call('GET', '/status')).body.configuration_hash
    const bad = kongYaml(upstream.port, `- username: bob
plugins:
- name: rate-limiting
  config: {minute: "lots"}
`).replace('paths: [/one]', 'paths: [/one]\n    protocols: [gopher]')
    const res = await call('POST', '/config', bad, 'application/yaml')
    assert.equal(res.status, 400)
    assert.equal(res.body.code, 14)
    assert.equal(res.body.name, 'invalid declarative configuration')
    assert.match(res.body.message, /^declarative config is invalid: /)
    assert.ok(res.body.fields.services[0].routes[0].protocols, JSON.stringify(res.body.fields))
    assert.ok(res.body.fields.plugins[0].config.minute, JSON.stringify(res.body.fields))
    assert.equal(res.body.flattened_errors, undefined)

    const flat = await call('POST', '/config?flatten_errors=1', bad, 'application/yaml')
    assert.equal(flat.status, 400)
    const byType = Object.fromEntries(flat.body.flattened_errors.map((e: any) => [e.entity_type, e]))
    assert.equal(byType.route.entity_name, 'r1')
    assert.equal(byType.route.entity.name, 'r1')
    // as Kong: no known protocol, no route subschema (`unknown type: gopher`)
    assert.deepEqual(byType.route.errors.map((e: any) => [e.type, e.field, e.message]), [['field', 'protocols', 'unknown type: gopher']])
    assert.equal(byType.plugin.errors[0].field, 'config.minute')

    // Flattening drains the error table as Kong does: every error here belongs to an entity.
    assert.deepEqual(flat.body.fields, {})
    assert.equal(flat.body.message, 'declarative config is invalid: {}')

    const malformed = await call('POST', '/config', 'services: [\n  - name: x\n', 'application/yaml')
    assert.equal(malformed.status, 400)
    assert.equal(malformed.body.code, 14)
    assert.equal((await call('POST', '/config', '', 'application/yaml')).body.message, 'expected a declarative configuration')
    // As Kong's declarative schema: _format_version is required.
    const unversioned = await call('POST', '/config', 'consumers:\n- username: bob\n', 'application/yaml')
    assert.equal(unversioned.status, 400)
    assert.equal(unversioned.body.code, 14)
    assert.deepEqual(unversioned.body.fields, {_format_version: 'required field missing'})
    assert.equal(unversioned.body.message, 'declarative config is invalid: {_format_version="required field missing"}')

    assert.equal((await call('GET', '/status')).body.configuration_hash, hash)
    assert.equal((await fetch(`${proxy}/one`)).status, 200)
    assert.equal((await call('GET', '/consumers/bob')).status, 404)
  })

  test('flattened_errors hoist nested children out, each carrying its parent’s key, as Kong does', async () => {
    const [svc, route, consumer] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()]
    const nested = `_format_version: "3.0"
services:
- name: svc
  id: ${svc}
  url: http://127.0.0.1:${upstream.port}
  routes:
  - name: bad-route
    id: ${route}
    paths: [/bad]
    protocols: [http, gopher]
    plugins:
    - name: rate-limiting
      config: {minute: lots}
  - name: no-id-route
    paths: [/n]
    plugins:
    - name: rate-limiting
      config: {hour: lots}
consumers:
- username: carol
  id: ${consumer}
  keyauth_credentials:
  - key: k1
    color: blue
`
    const res = await call('POST', '/config?flatten_errors=1', nested, 'application/yaml')
    assert.equal(res.status, 400)
    assert.deepEqual(res.body.fields, {})
    const summary = res.body.flattened_errors.map((e: any) => ({
      type: e.entity_type,
      name: e.entity_name,
      id: e.entity_id,
      parent: e.entity.service ?? e.entity.route ?? e.entity.consumer,
      nested: 'plugins' in e.entity || 'routes' in e.entity,
      errors: e.errors.map((x: any) => `${x.type}:${x.field ?? ''}`),
    }))
    // Sections in descending order (services before consumers), children before their
    // parent, nested items in file order. A child of a parent without an id gets no key.
    assert.deepEqual(summary, [
      {type: 'plugin', name: 'rate-limiting', id: undefined, parent: {id: route}, nested: false, errors: ['field:config.minute']},
      {type: 'route', name: 'bad-route', id: route, parent: {id: svc}, nested: false, errors: ['field:protocols.2']},
      // plugins of two different routes are no duplicates, even when invalid (no uniqueness error)
      {type: 'plugin', name: 'rate-limiting', id: undefined, parent: undefined, nested: false, errors: ['field:config.hour']},
      {type: 'keyauth_credential', name: undefined, id: undefined, parent: {id: consumer}, nested: false, errors: ['field:color']},
    ])
    assert.equal(res.body.flattened_errors[3].entity.key, 'k1')
  })

  test('target health: read and set by hand from memory, and the proxy follows it', async () => {
    const yaml = `_format_version: "3.0"
upstreams:
- name: pool.health
  healthchecks: {passive: {healthy: {successes: 1}, unhealthy: {tcp_failures: 1, http_failures: 1}}}
  targets:
  - target: 127.0.0.1:${upstream.port}
services:
- name: balanced
  host: pool.health
  routes:
  - name: rb
    paths: [/balanced]
`
    assert.equal((await call('POST', '/config', yaml, 'text/yaml')).status, 201)
    const target = `127.0.0.1:${upstream.port}`
    assert.equal((await call('GET', '/upstreams/pool.health/health')).body.data[0].health, 'HEALTHY')
    assert.equal((await fetch(`${proxy}/balanced`)).status, 200)
    assert.equal((await call('PUT', `/upstreams/pool.health/targets/${target}/unhealthy`)).status, 204)
    assert.equal((await call('GET', '/upstreams/pool.health/health')).body.data[0].health, 'UNHEALTHY')
    const r = await fetch(`${proxy}/balanced`)
    assert.equal(r.status, 503)
    assert.equal((await r.json()).message, 'failure to get a peer from the ring-balancer')
    assert.equal((await call('PUT', `/upstreams/pool.health/targets/${target}/healthy`)).status, 204)
    assert.equal((await fetch(`${proxy}/balanced`)).status, 200)
  })

  test("key-auth ttl: the seconds left count down, an expired key is gone, as Kong's off strategy", async () => {
    const ttls = kongYaml(upstream.port).replace('  - key: alice-key\n', '  - key: alice-key\n  - key: long-key\n    ttl: 100\n  - key: short-key\n    ttl: 1\n')
    assert.equal((await call('POST', '/config', ttls, 'application/yaml')).status, 201)
    const at = (await call('GET', '/key-auths/long-key')).body.ttl
    assert.ok(at === 99 || at === 100, `ttl ${at}`)
    assert.equal((await call('GET', '/key-auths/alice-key')).body.ttl, null)
    await new Promise((r) => setTimeout(r, 2100))
    const later = (await call('GET', '/key-auths/long-key')).body.ttl
    assert.ok(later <= at - 2 && later >= 96, `ttl ${later} after ${at}`)
    assert.equal((await call('GET', '/key-auths/short-key')).status, 404)
    assert.deepEqual((await call('GET', '/consumers/alice/key-auth')).body.data.map((c: any) => c.key).sort(), ['alice-key', 'long-key'])
  })

  test('without declarative_config the node starts empty and is not ready until a POST', async () => {
    const [a, p, s] = [await findFreePort(), await findFreePort(), await findFreePort()]
    const empty = spawnNode(dir, {database: 'off', admin_listen: `127.0.0.1:${a}`, proxy_listen: `127.0.0.1:${p}`, status_listen: `127.0.0.1:${s}`})
    try {
      await empty.waitOutput(/started/)
      assert.equal((await fetch(`http://127.0.0.1:${s}/status/ready`)).status, 503)
      const res = await fetch(`http://127.0.0.1:${a}/config`, {method: 'POST', headers: {'content-type': 'application/yaml'}, body: kongYaml(upstream.port)})
      assert.equal(res.status, 201)
      assert.equal((await fetch(`http://127.0.0.1:${s}/status/ready`)).status, 200)
      assert.equal((await fetch(`http://127.0.0.1:${p}/one`)).status, 200)
    } finally {
      await empty.stop()
    }
  })

  test('an invalid declarative_config stops the start with the file’s errors', async () => {
    const file = join(dir, 'bad.yaml')
    writeFileSync(file, '_format_version: "3.0"\nservices:\n- name: s\n  port: 99999999\n')
    const bad = spawnNode(dir, {database: 'off', declarative_config: file, admin_listen: `127.0.0.1:${await findFreePort()}`, proxy_listen: `127.0.0.1:${await findFreePort()}`, status_listen: 'off'})
    assert.equal(await bad.exited, 1)
    assert.match(bad.output(), /error parsing declarative config file .*bad\.yaml/)
    assert.match(bad.output(), /services\[0\]: port/)
  })
})
