import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {adminBed} from '../helpers/gateway.js'
import {migrate, MIGRATIONS} from '../../src/runtime/db/migrations.js'
import {createDatabase} from '../../src/cluster/postgres.js'
import {makeCa, makeCert} from '../helpers/certs.js'
import {randomUUID} from 'node:crypto'
import pg from 'pg'

const bed = adminBed()

describe('migrations', () => {
  test('run once, then are a no-op', async () => {
    const conn = {host: bed.pg.host, port: bed.pg.port, user: bed.pg.user, password: bed.pg.password}
    await createDatabase(conn, 'migrations_twice')
    const first = await migrate({...conn, database: 'migrations_twice'})
    assert.deepEqual(first, MIGRATIONS.map((m) => m.name))
    // A name runs once: two migrations sharing one would leave the second never run.
    assert.equal(new Set(first).size, first.length, 'migration names are unique')
    assert.deepEqual(await migrate({...conn, database: 'migrations_twice'}), [])
  })

  test('003 on a database whose targets keep whole seconds (bigint, as before it): values kept, milliseconds from then on, changes still recorded', async () => {
    const conn = {host: bed.pg.host, port: bed.pg.port, user: bed.pg.user, password: bed.pg.password, database: 'migrations_003'}
    await createDatabase(conn, conn.database)
    const before = MIGRATIONS.filter((m) => m.name !== '003_targets_timestamp_ms')
    assert.equal(before.length, MIGRATIONS.length - 1)
    await migrate(conn, before)
    const client = new pg.Client(conn)
    await client.connect()
    try {
      // the columns as the releases before 003 created them
      await client.query('ALTER TABLE targets ALTER COLUMN created_at TYPE bigint, ALTER COLUMN updated_at TYPE bigint')
      const [upstream, target] = [randomUUID(), randomUUID()]
      await client.query(`INSERT INTO upstreams (id, name, created_at, updated_at) VALUES ($1, 'old', 1733400000, 1733400000)`, [upstream])
      await client.query(`INSERT INTO targets (id, upstream_id, target, weight, created_at, updated_at) VALUES ($1, $2, '10.0.0.1:80', 100, 1733400000, 1733400001)`, [target, upstream])

      assert.deepEqual(await migrate(conn), ['003_targets_timestamp_ms'])
      const types = await client.query(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'targets' AND column_name IN ('created_at', 'updated_at') ORDER BY column_name`)
      assert.deepEqual(types.rows, [{column_name: 'created_at', data_type: 'double precision'}, {column_name: 'updated_at', data_type: 'double precision'}])
      const kept = await client.query('SELECT created_at, updated_at FROM targets WHERE id = $1', [target])
      assert.deepEqual(kept.rows, [{created_at: 1733400000, updated_at: 1733400001}], 'whole seconds kept, read back as numbers')

      const seq = Number((await client.query('SELECT coalesce(max(seq), 0) AS s FROM clustering_sync_delta')).rows[0].s)
      await client.query('UPDATE targets SET updated_at = 1733400002.345 WHERE id = $1', [target])
      assert.deepEqual((await client.query('SELECT updated_at FROM targets WHERE id = $1', [target])).rows, [{updated_at: 1733400002.345}], 'milliseconds from now on')
      const delta = await client.query('SELECT kind, id, entity FROM clustering_sync_delta WHERE seq > $1', [seq])
      assert.deepEqual(delta.rows.map((r) => [r.kind, r.id, r.entity?.updated_at]), [['targets', target, 1733400002.345]], 'the sync trigger survives the column change')
    } finally {
      await client.end()
    }
  })
})

describe('services', () => {
  test('create with the url shorthand fills Kong defaults', async () => {
    const r = await bed.api.call('POST', '/services', {name: 'svc1', url: 'https://example.com:8443/api'})
    assert.equal(r.status, 201)
    const s = r.body
    assert.match(s.id, /^[0-9a-f-]{36}$/)
    assert.equal(s.protocol, 'https')
    assert.equal(s.host, 'example.com')
    assert.equal(s.port, 8443)
    assert.equal(s.path, '/api')
    assert.equal(s.retries, 5)
    assert.equal(s.connect_timeout, 60000)
    assert.equal(s.read_timeout, 60000)
    assert.equal(s.write_timeout, 60000)
    assert.equal(s.enabled, true)
    assert.equal(s.tags, null)
    assert.equal(typeof s.created_at, 'number')
    assert.ok(bed.api.changes > 0, 'a write triggers a rebuild')
  })

  test('read by id and by name; 404 with Kong body', async () => {
    const created = (await bed.api.call('POST', '/services', {name: 'svc-read', host: 'upstream.local'})).body
    assert.equal((await bed.api.call('GET', `/services/${created.id}`)).body.name, 'svc-read')
    assert.equal((await bed.api.call('GET', '/services/svc-read')).body.id, created.id)
    const missing = await bed.api.call('GET', '/services/nope')
    assert.equal(missing.status, 404)
    assert.deepEqual(missing.body, {message: 'Not found'})
    assert.equal(created.port, 80)
    assert.equal(created.protocol, 'http')
  })

  test('PATCH changes only the given fields', async () => {
    await bed.api.call('POST', '/services', {name: 'svc-patch', host: 'a.local', retries: 2})
    const r = await bed.api.call('PATCH', '/services/svc-patch', {host: 'b.local'})
    assert.equal(r.status, 200)
    assert.equal(r.body.host, 'b.local')
    assert.equal(r.body.retries, 2)
    assert.equal((await bed.api.call('PATCH', '/services/absent', {host: 'x.local'})).status, 404)
  })

  test('PUT upserts by name and by id', async () => {
    const created = await bed.api.call('PUT', '/services/svc-put', {host: 'one.local'})
    assert.equal(created.status, 200)
    assert.equal(created.body.name, 'svc-put')
    const replaced = await bed.api.call('PUT', '/services/svc-put', {host: 'two.local', retries: 1})
    assert.equal(replaced.body.id, created.body.id)
    assert.equal(replaced.body.host, 'two.local')
    assert.equal(replaced.body.created_at, created.body.created_at)
    const id = '6a8a3c2e-0f5b-4c52-9c07-3b1a1bcbf9b1'
    const byId = await bed.api.call('PUT', `/services/${id}`, {name: 'svc-put-id', host: 'three.local'})
    assert.equal(byId.body.id, id)
    const conflict = await bed.api.call('PUT', '/services/svc-put', {name: 'other', host: 'x.local'})
    assert.equal(conflict.status, 400)
    assert.deepEqual(conflict.body.fields, {name: 'value must be svc-put'})
  })

  test('DELETE answers 204, also when absent', async () => {
    await bed.api.call('POST', '/services', {name: 'svc-del', host: 'a.local'})
    assert.equal((await bed.api.call('DELETE', '/services/svc-del')).status, 204)
    assert.equal((await bed.api.call('GET', '/services/svc-del')).status, 404)
    assert.equal((await bed.api.call('DELETE', '/services/svc-del')).status, 204)
  })

  test('schema violations: shape, codes and messages', async () => {
    const one = await bed.api.call('POST', '/services', {name: 'bad'})
    assert.equal(one.status, 400)
    assert.deepEqual(one.body, {
      code: 2,
      name: 'schema violation',
      message: 'schema violation (host: required field missing)',
      fields: {host: 'required field missing'},
    })
    const many = await bed.api.call('POST', '/services', {host: 'ok.local', port: 70000, protocol: 'gopher', retries: 'x', nope: 1})
    assert.equal(many.status, 400)
    assert.equal(many.body.code, 2)
    assert.deepEqual(many.body.fields, {
      nope: 'unknown field',
      port: 'value should be between 0 and 65535',
      protocol: 'expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp',
      retries: 'expected an integer',
    })
    assert.match(many.body.message, /^4 schema violations \(nope: unknown field; port: value should be between 0 and 65535; protocol: expected one of: .*; retries: expected an integer\)$/)
    const name = await bed.api.call('POST', '/services', {name: 'has space', host: 'a.local'})
    assert.equal(name.body.fields.name, "invalid value 'has space': the only accepted ascii characters are alphanumerics or ., -, _, and ~")
  })

  test('unique violation answers 409 with code 5', async () => {
    await bed.api.call('POST', '/services', {name: 'dup', host: 'a.local'})
    const r = await bed.api.call('POST', '/services', {name: 'dup', host: 'b.local'})
    assert.equal(r.status, 409)
    assert.deepEqual(r.body, {code: 5, name: 'unique constraint violation', message: `UNIQUE violation detected on '{name="dup"}'`, fields: {name: 'dup'}})
  })
})

describe('request formats', () => {
  test('form bodies with paths[] arrays, repeated keys and dotted foreign keys', async () => {
    const svc = (await bed.api.form('POST', '/services', 'name=form-svc&url=http://127.0.0.1:9999&retries=3')).body
    assert.equal(svc.retries, 3)
    const r = await bed.api.form('POST', '/routes', `name=form-r&paths[]=/a&paths[]=/b&hosts=x.test&hosts=y.test&service.id=${svc.id}&strip_path=false`)
    assert.equal(r.status, 201, JSON.stringify(r.body))
    assert.deepEqual(r.body.paths, ['/a', '/b'])
    assert.deepEqual(r.body.hosts, ['x.test', 'y.test'])
    assert.equal(r.body.strip_path, false)
    assert.deepEqual(r.body.service, {id: svc.id})
    const indexed = await bed.api.form('POST', `/services/${svc.id}/routes`, 'paths[1]=/one&paths[2]=/two&methods=GET')
    assert.deepEqual(indexed.body.paths, ['/one', '/two'])
    assert.deepEqual(indexed.body.methods, ['GET'])
  })

  test('form and JSON keys naming prototype properties are fields like any other: refused as unknown, nothing polluted', async () => {
    const cases: Array<[string, string]> = [
      ['name=p1&host=example.test&__proto__.polluted=yes', '__proto__'],
      ['name=p2&host=example.test&constructor.prototype.polluted=yes', 'constructor'],
      ['name=p3&host=example.test&__proto__[polluted]=yes', '__proto__'],
    ]
    for (const [body, field] of cases) {
      const r = await bed.api.form('POST', '/services', body)
      assert.equal(r.status, 400, body)
      assert.equal(r.body.name, 'schema violation')
      assert.deepEqual(r.body.fields, {[field]: 'unknown field'})
      assert.match(r.body.message, new RegExp(`${field}: unknown field`))
      assert.equal(({} as any).polluted, undefined, `Object.prototype untouched by ${body}`)
    }
    const json = await bed.api.call('POST', '/services', JSON.parse('{"name": "p5", "host": "example.test", "__proto__": {"polluted": "yes"}}'))
    assert.equal(json.status, 400)
    assert.deepEqual(json.body.fields, JSON.parse('{"__proto__": "unknown field"}'))
    const ctor = await bed.api.call('POST', '/services', {name: 'p4', host: 'example.test', constructor: 'x', toString: 'y'})
    assert.equal(ctor.status, 400)
    assert.deepEqual(ctor.body.fields, {constructor: 'unknown field', toString: 'unknown field'})
    const huge = await bed.api.form('POST', '/routes', 'paths[99999999]=/x')
    assert.equal(huge.status, 400)
    assert.match(huge.body.message, /invalid form field 'paths\[99999999\]': an index must be between 1 and 10000/)
  })

  test('bad bodies and methods', async () => {
    const badJson = await fetch(bed.api.url + '/services', {method: 'POST', headers: {'content-type': 'application/json'}, body: '{nope'})
    assert.equal(badJson.status, 400)
    assert.deepEqual(await badJson.json(), {message: 'Cannot parse JSON body'})
    const text = await fetch(bed.api.url + '/services', {method: 'POST', headers: {'content-type': 'text/plain'}, body: 'x'})
    assert.equal(text.status, 415)
    const patchColl = await bed.api.call('PATCH', '/services', {})
    assert.equal(patchColl.status, 405)
    assert.deepEqual(patchColl.body, {message: 'Method not allowed'})
    assert.equal((await bed.api.call('GET', '/nothing-here')).status, 404)
  })
})

describe('routes', () => {
  test('defaults, nesting under a service, and the service of a route', async () => {
    await bed.api.call('POST', '/services', {name: 'rsvc', host: 'a.local'})
    const r = await bed.api.call('POST', '/services/rsvc/routes', {name: 'r1', paths: ['/r1']})
    assert.equal(r.status, 201)
    assert.deepEqual(r.body.protocols, ['http', 'https'])
    assert.equal(r.body.strip_path, true)
    assert.equal(r.body.preserve_host, false)
    assert.equal(r.body.regex_priority, 0)
    assert.equal(r.body.https_redirect_status_code, 426)
    assert.equal(r.body.path_handling, 'v0')
    assert.equal(r.body.request_buffering, true)
    assert.equal(r.body.response_buffering, true)
    const list = await bed.api.call('GET', '/services/rsvc/routes')
    assert.deepEqual(list.body.data.map((x: any) => x.name), ['r1'])
    assert.equal((await bed.api.call('GET', '/routes/r1/service')).body.name, 'rsvc')
    assert.equal((await bed.api.call('GET', '/services/rsvc/routes/r1')).status, 200)
    await bed.api.call('POST', '/services', {name: 'rsvc2', host: 'b.local'})
    assert.equal((await bed.api.call('GET', '/services/rsvc2/routes/r1')).status, 404, 'a route of another service is not found there')
  })

  test('entity check: a route needs something to match on', async () => {
    const r = await bed.api.call('POST', '/routes', {protocols: ['http']})
    assert.equal(r.status, 400)
    assert.deepEqual(r.body.fields, {'@entity': ["must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'"]})
    assert.equal(r.body.message, "schema violation (must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http')")
  })

  test('paths, hosts and regexes are validated', async () => {
    const r = await bed.api.call('POST', '/routes', {paths: ['nope', '~/ok/(?<x>\\d+)'], hosts: ['*.a.*']})
    assert.equal(r.status, 400)
    // as Kong's JSON of a Lua table: no trailing null for the valid last element
    assert.deepEqual(r.body.fields.paths, ['should start with: / (fixed path) or ~/ (regex path)'])
    assert.deepEqual(r.body.fields.hosts, ['only one wildcard must be specified'])
  })

  // Kong's spec/01-unit/01-db/01-schema/06-routes_spec.lua, "paths attribute"
  test('paths: empty segments, escapes and the normalized form, as Kong checks them', async () => {
    const errors = async (paths: string[]) => {
      const r = await bed.api.call('POST', '/routes', {paths})
      assert.equal(r.status, 400)
      return r.body.fields.paths
    }
    assert.deepEqual(await errors(['/foo//bar', '/foo/bar//', '//foo/bar']), ['must not have empty segments', 'must not have empty segments', 'must not have empty segments'])
    // "rejects badly percent-encoded values"
    const bad = ['/some%2words', '/some%0Xwords', '/some%2Gwords', '/some%20words%', '/some%20words%a', '/some%20words%ax']
    assert.deepEqual(await errors(bad), ['%2w', '%0X', '%2G', '%', '%a', '%ax'].map((e) => `invalid url-encoded value: '${e}'`))
    // a plain path is matched against normalized request paths: it must be in that form
    assert.deepEqual(await errors(['/a/../b', '/%7euser', '/a%2fb']), [
      "non-normalized path, consider use '/b' instead",
      "non-normalized path, consider use '/~user' instead",
      "non-normalized path, consider use '/a%2Fb' instead",
    ])
    // acceptance: the apex, unreserved characters, a trailing slash, reserved escapes, a regex
    for (const path of ['/', '/abcd~user~2', '/ovo/', '/a%2Fb', '~/users/\\d+']) {
      const r = await bed.api.call('POST', '/routes', {paths: [path]})
      assert.equal(r.status, 201, `${path}: ${JSON.stringify(r.body)}`)
      await bed.api.call('DELETE', `/routes/${r.body.id}`)
    }
  })

  test('foreign keys: unknown service by id or by name, and delete of a referenced service', async () => {
    const id = '0e0e0e0e-1111-4222-8333-444444444444'
    const byId = await bed.api.call('POST', '/routes', {paths: ['/x'], service: {id}})
    assert.equal(byId.status, 400)
    assert.deepEqual(byId.body, {
      code: 4,
      name: 'foreign key violation',
      message: `the foreign key '{id="${id}"}' does not reference an existing 'services' entity.`,
      fields: {service: {id}},
    })
    const byName = await bed.api.call('POST', '/routes', {paths: ['/x'], service: {name: 'ghost'}})
    assert.equal(byName.status, 400)
    assert.deepEqual(byName.body, {
      code: 13,
      name: 'foreign keys unresolved',
      message: `foreign key unresolved (service.name: the foreign key cannot be resolved with '{name="ghost"}' for an existing 'services' entity)`,
      fields: {service: {name: `the foreign key cannot be resolved with '{name="ghost"}' for an existing 'services' entity`}},
    })
    await bed.api.call('POST', '/services', {name: 'referenced', host: 'a.local'})
    const route = await bed.api.call('POST', '/routes', {paths: ['/y'], service: {name: 'referenced'}})
    assert.equal(route.status, 201)
    const del = await bed.api.call('DELETE', '/services/referenced')
    assert.equal(del.status, 400)
    assert.deepEqual(del.body, {
      code: 4,
      name: 'foreign key violation',
      message: "an existing 'routes' entity references this 'services' entity",
      fields: {'@referenced_by': 'routes'},
    })
  })
})

describe('consumers', () => {
  test('username or custom_id is required; usernames differing in case are distinct', async () => {
    const none = await bed.api.call('POST', '/consumers', {tags: ['x']})
    assert.equal(none.status, 400)
    assert.deepEqual(none.body.fields, {'@entity': ["at least one of these fields must be non-empty: 'custom_id', 'username'"]})
    assert.equal((await bed.api.call('POST', '/consumers', {username: 'Alice'})).status, 201)
    assert.equal((await bed.api.call('POST', '/consumers', {username: 'alice'})).status, 201)
    assert.equal((await bed.api.call('POST', '/consumers', {username: 'alice'})).status, 409)
    assert.equal((await bed.api.call('POST', '/consumers', {custom_id: 'c-1'})).status, 201)
    assert.equal((await bed.api.call('GET', '/consumers/Alice')).body.username, 'Alice')
  })
})

describe('upstreams and targets', () => {
  test('defaults including health checks; targets get port 8000; cascade on delete', async () => {
    const u = await bed.api.call('POST', '/upstreams', {name: 'backend.internal'})
    assert.equal(u.status, 201)
    assert.equal(u.body.algorithm, 'round-robin')
    assert.equal(u.body.slots, 10000)
    assert.equal(u.body.hash_on, 'none')
    assert.equal(u.body.hash_on_cookie_path, '/')
    assert.deepEqual(u.body.healthchecks.active.healthy, {interval: 0, http_statuses: [200, 302], successes: 0})
    assert.deepEqual(u.body.healthchecks.passive.unhealthy, {http_statuses: [429, 500, 503], tcp_failures: 0, timeouts: 0, http_failures: 0})
    assert.equal(u.body.healthchecks.threshold, 0)
    const t = await bed.api.call('POST', '/upstreams/backend.internal/targets', {target: '10.0.0.1'})
    assert.equal(t.status, 201)
    assert.equal(t.body.target, '10.0.0.1:8000')
    assert.equal(t.body.weight, 100)
    assert.deepEqual(t.body.upstream, {id: u.body.id})
    const dup = await bed.api.call('POST', '/upstreams/backend.internal/targets', {target: '10.0.0.1:8000'})
    assert.equal(dup.status, 409)
    assert.equal((await bed.api.call('GET', '/upstreams/backend.internal/targets/10.0.0.1:8000')).body.id, t.body.id)
    const bad = await bed.api.call('POST', '/upstreams/backend.internal/targets', {target: 'bad host', weight: 70000})
    assert.equal(bad.status, 400)
    assert.deepEqual(bad.body.fields, {target: 'Invalid target; not a valid hostname or ip address', weight: 'value should be between 0 and 65535'})
    assert.equal((await bed.api.call('DELETE', '/upstreams/backend.internal')).status, 204)
    assert.equal((await bed.api.call('GET', `/targets/${t.body.id}`)).status, 404)
  })
})

describe('certificates, snis and CA certificates', () => {
  test('certificate with snis; sni names unique; cascade', async () => {
    const {cert, key} = await makeCert('api.example.test')
    const c = await bed.api.call('POST', '/certificates', {cert, key, tags: ['tls']})
    assert.equal(c.status, 201, JSON.stringify(c.body))
    const s = await bed.api.call('POST', `/certificates/${c.body.id}/snis`, {name: 'api.example.test'})
    assert.equal(s.status, 201)
    assert.deepEqual(s.body.certificate, {id: c.body.id})
    assert.equal((await bed.api.call('POST', '/snis', {name: 'api.example.test', certificate: {id: c.body.id}})).status, 409)
    assert.equal((await bed.api.call('POST', '/snis', {name: '*.example.test', certificate: {id: c.body.id}})).status, 201)
    const badPem = await bed.api.call('POST', '/certificates', {cert: 'nope', key})
    assert.equal(badPem.status, 400)
    assert.ok(badPem.body.fields.cert)
    assert.equal((await bed.api.call('DELETE', `/certificates/${c.body.id}`)).status, 204)
    assert.equal((await bed.api.call('GET', '/snis/api.example.test')).status, 404)
  })

  test("a certificate's transient snis: checked with it, in its schema, written with it in one transaction", async () => {
    const {cert, key} = await makeCert('transient.example.test')
    // every name checked as Kong's wildcard_host, with the certificate's own fields
    const bad = await bed.api.call('POST', '/certificates', {cert: 'nope', key, snis: ['ok.example.test', '10.0.0.1', 'port.example.test:8443']})
    assert.equal(bad.status, 400)
    assert.ok(bad.body.fields.cert)
    assert.deepEqual(bad.body.fields.snis, [null, 'must not be an IP', 'must not have a port'])
    assert.match(bad.body.message, /snis\.2: must not be an IP; snis\.3: must not have a port/)
    assert.equal((await bed.api.call('GET', '/snis/ok.example.test')).status, 404)
    assert.equal((await bed.api.call('POST', '/snis', {name: '[::1]', certificate: {id: randomUUID()}})).body.fields.name, 'must not be an IP')

    const schema = await bed.api.call('GET', '/schemas/certificates')
    const snis = schema.body.fields.find((f: Record<string, unknown>) => 'snis' in f)?.snis
    assert.equal(snis?.type, 'array')
    assert.equal(snis?.transient, true)
    assert.equal(snis?.elements?.type, 'string')

    // racing writers of one name: a certificate exists only for the one whose name was written
    const before = (await bed.api.call('GET', '/certificates?size=1000')).body.data.length
    const answers = await Promise.all(Array.from({length: 4}, () => bed.api.call('POST', '/certificates', {cert, key, snis: ['race.example.test']})))
    const created = answers.filter((a) => a.status === 201)
    assert.equal(created.length, 1, JSON.stringify(answers.map((a) => [a.status, a.body])))
    for (const a of answers) if (a.status !== 201) assert.ok(a.status === 400 || a.status === 409, JSON.stringify(a.body))
    assert.equal((await bed.api.call('GET', '/certificates?size=1000')).body.data.length, before + 1)
    assert.deepEqual((await bed.api.call('GET', '/snis/race.example.test')).body.certificate, {id: created[0]!.body.id})
  })

  test('CA certificates get a digest and must be CAs', async () => {
    const ca = await makeCa()
    const r = await bed.api.call('POST', '/ca_certificates', {cert: ca.cert})
    assert.equal(r.status, 201)
    assert.match(r.body.cert_digest, /^[0-9a-f]{64}$/)
    assert.equal((await bed.api.call('POST', '/ca_certificates', {cert: ca.cert})).status, 409)
    const leaf = await makeCert('leaf.test')
    const notCa = await bed.api.call('POST', '/ca_certificates', {cert: leaf.cert})
    assert.equal(notCa.status, 400)
    // as Kong, an entity check: `schema violation (certificate does not appear to be a CA …)`
    assert.match(notCa.body.fields['@entity'][0], /missing the "CA" basic constraint/)
  })
})

describe('plugins', () => {
  test('an unknown plugin is refused with Kong’s message', async () => {
    const r = await bed.api.call('POST', '/plugins', {name: 'no-such-plugin'})
    assert.equal(r.status, 400)
    assert.deepEqual(r.body.fields, {name: "plugin 'no-such-plugin' not enabled; add it to the 'plugins' configuration property"})
  })
})

describe('pagination and tags', () => {
  test('size, offset and next walk every row once', async () => {
    for (let i = 0; i < 7; i++) await bed.api.call('POST', '/consumers', {username: `page-${i}`, tags: i % 2 ? ['odd', 'page'] : ['even', 'page']})
    const seen: string[] = []
    let path: string | null = '/consumers?size=3&tags=page'
    let pages = 0
    while (path) {
      const r: any = await bed.api.call('GET', path)
      assert.equal(r.status, 200)
      assert.ok(r.body.data.length <= 3)
      seen.push(...r.body.data.map((c: any) => c.username))
      path = r.body.next
      if (path) assert.equal(typeof r.body.offset, 'string')
      pages++
    }
    assert.equal(pages, 3)
    assert.deepEqual([...seen].sort(), [0, 1, 2, 3, 4, 5, 6].map((i) => `page-${i}`))
    const bad = await bed.api.call('GET', '/consumers?size=0')
    assert.equal(bad.status, 400)
    assert.equal(bad.body.code, 9)
    const badOffset = await bed.api.call('GET', '/consumers?offset=@@@')
    assert.equal(badOffset.status, 400)
    assert.equal(badOffset.body.code, 7)
  })

  test('tags: a,b means both; a/b means either', async () => {
    const both = await bed.api.call('GET', '/consumers?tags=odd,page')
    assert.equal(both.body.data.length, 3)
    const either = await bed.api.call('GET', '/consumers?tags=odd/even')
    assert.equal(either.body.data.length, 7)
    const none = await bed.api.call('GET', '/consumers?tags=odd,even')
    assert.deepEqual(none.body, {data: [], next: null})
  })
})

describe('info and schemas', () => {
  test('GET / shows the node and hides secrets', async () => {
    const r = await bed.api.call('GET', '/')
    assert.equal(r.status, 200)
    assert.equal(r.body.version, '3.9.0')
    assert.equal(r.body.node_id, '00000000-0000-4000-8000-000000000001')
    assert.equal(r.body.configuration.pg_password, '******')
    assert.match(r.headers.get('server') ?? '', /^kong\//)
  })

  test('/schemas/{entity} and validate', async () => {
    const s = await bed.api.call('GET', '/schemas/services')
    assert.equal(s.status, 200)
    const names = s.body.fields.map((f: any) => Object.keys(f)[0])
    assert.ok(names.includes('host') && names.includes('connect_timeout'))
    const retries = s.body.fields.find((f: any) => f.retries).retries
    assert.equal(retries.default, 5)
    assert.equal(typeof retries.description, 'string')
    assert.equal((await bed.api.call('GET', '/schemas/nothing')).status, 404)
    const ok = await bed.api.call('POST', '/schemas/routes/validate', {paths: ['/x']})
    assert.deepEqual(ok.body, {message: 'schema validation successful'})
    const bad = await bed.api.call('POST', '/schemas/routes/validate', {paths: ['x']})
    assert.equal(bad.status, 400)
    assert.equal(bad.body.code, 2)
  })
})

/**
 * PATCH, PUT and DELETE for every core entity, one table row per entity. Each row makes
 * a fresh entity (and its parents) from a unique suffix, so rows share no state.
 */
interface CrudCase {
  entity: string
  /** Creates what the entity needs (a parent) and returns the collection path it lives in. */
  setup(n: string): Promise<string>
  create(n: string): Promise<Record<string, any>>
  /** A PATCH body and the fields it must change. */
  patch(n: string): Record<string, any>
  /** A PUT body for the entity `created` (endpoint key omitted). */
  put(n: string, created: Record<string, any>): Promise<Record<string, any>>
  /** PUT replaces the entity, so this field it omits goes back to its default: [field, default]. */
  resets?: [string, unknown]
  /**
   * Targets under `/upstreams/{u}/targets/{t}` follow Kong 3's own endpoint: PUT updates an
   * existing target like PATCH (omitted fields kept) and answers 404 for an absent one.
   */
  putUpdatesOnly?: boolean
  /** The natural key the entity is also addressed by (`name`, `username`). */
  key?: string
}

let targetHost = 0
const CASES: CrudCase[] = [
  {
    entity: 'routes',
    setup: async () => '/routes',
    create: async (n) => ({name: `route-${n}`, paths: [`/${n}`], strip_path: false}),
    patch: (n) => ({paths: [`/${n}-patched`], hosts: ['patched.test']}),
    put: async (n) => ({paths: [`/${n}-put`]}),
    resets: ['strip_path', true],
    key: 'name',
  },
  {
    entity: 'consumers',
    setup: async () => '/consumers',
    create: async (n) => ({username: `user-${n}`, custom_id: `cid-${n}`}),
    patch: (n) => ({custom_id: `cid-${n}-patched`}),
    put: async () => ({tags: ['put']}),
    resets: ['custom_id', null],
    key: 'username',
  },
  {
    entity: 'upstreams',
    setup: async () => '/upstreams',
    create: async (n) => ({name: `pool-${n}.internal`, algorithm: 'least-connections'}),
    patch: () => ({slots: 20000}),
    put: async () => ({hash_on: 'ip', algorithm: 'consistent-hashing'}),
    resets: ['slots', 10000],
    key: 'name',
  },
  {
    entity: 'targets',
    setup: async (n) => {
      const u = await bed.api.call('POST', '/upstreams', {name: `targets-${n}.internal`})
      assert.equal(u.status, 201, JSON.stringify(u.body))
      return `/upstreams/${u.body.id}/targets`
    },
    create: async () => ({target: `10.1.0.${++targetHost}:8080`, weight: 50}),
    patch: () => ({weight: 5}),
    put: async (_n, created) => ({target: created.target, tags: ['put']}),
    putUpdatesOnly: true,
  },
  {
    entity: 'certificates',
    setup: async () => '/certificates',
    create: async (n) => ({...(await makeCert(`${n}.example.test`)), tags: ['first']}),
    patch: () => ({tags: ['patched']}),
    put: async (n) => makeCert(`${n}-put.example.test`),
    resets: ['tags', null],
  },
  {
    entity: 'snis',
    setup: async (n) => {
      const c = await bed.api.call('POST', '/certificates', await makeCert(`${n}.sni.test`))
      assert.equal(c.status, 201, JSON.stringify(c.body))
      return `/certificates/${c.body.id}/snis`
    },
    create: async (n) => ({name: `${n}.sni.test`, tags: ['first']}),
    patch: () => ({tags: ['patched']}),
    put: async () => ({}),
    resets: ['tags', null],
    key: 'name',
  },
  {
    entity: 'ca_certificates',
    setup: async () => '/ca_certificates',
    create: async () => ({cert: (await makeCa()).cert, tags: ['first']}),
    patch: () => ({tags: ['patched']}),
    put: async () => ({cert: (await makeCa()).cert}),
    resets: ['tags', null],
  },
]

/** The entity minus what a write may legitimately change. */
const stable = (e: Record<string, any>, ...changed: string[]) => {
  const out = {...e}
  for (const k of ['updated_at', ...changed]) delete out[k]
  return out
}

describe('PATCH, PUT and DELETE for every entity', () => {
  let seq = 0
  for (const c of CASES) {
    describe(c.entity, () => {
      const n = `${c.entity.replace(/_/g, '-')}-${++seq}`
      const newId = randomUUID()
      let base: string
      let created: Record<string, any>
      let patched: Record<string, any>

      test('PATCH by id changes the given fields and nothing else', async () => {
        base = await c.setup(n)
        const r = await bed.api.call('POST', base, await c.create(n))
        assert.equal(r.status, 201, JSON.stringify(r.body))
        created = r.body
        const patch = c.patch(n)
        const p = await bed.api.call('PATCH', `${base}/${created.id}`, patch)
        assert.equal(p.status, 200, JSON.stringify(p.body))
        patched = p.body
        for (const [k, v] of Object.entries(patch)) assert.deepEqual(patched[k], v, `PATCH ${k}`)
        assert.deepEqual(stable(patched, ...Object.keys(patch)), stable(created, ...Object.keys(patch)))
        assert.deepEqual((await bed.api.call('GET', `${base}/${created.id}`)).body, patched, 'PATCH is stored')
        const missing = await bed.api.call('PATCH', `${base}/${randomUUID()}`, patch)
        assert.equal(missing.status, 404)
        assert.deepEqual(missing.body, {message: 'Not found'})
      })

      test('PUT by id on an existing entity', async () => {
        const body = await c.put(n, patched)
        if (c.key) body[c.key] = created[c.key]
        const r = await bed.api.call('PUT', `${base}/${created.id}`, body)
        assert.equal(r.status, 200, JSON.stringify(r.body))
        assert.equal(r.body.id, created.id)
        assert.equal(r.body.created_at, created.created_at)
        for (const [k, v] of Object.entries(body)) if (k !== 'target') assert.deepEqual(r.body[k], v, `PUT ${k}`)
        // Kong's PUT replaces: what the body omits goes back to its default (targets: kept).
        if (c.resets) assert.deepEqual(r.body[c.resets[0]], c.resets[1], `PUT resets ${c.resets[0]}`)
        if (c.putUpdatesOnly) assert.equal(r.body.weight, patched.weight, 'PUT keeps weight')
        assert.deepEqual((await bed.api.call('GET', `${base}/${created.id}`)).body, r.body, 'PUT is stored')
      })

      test(c.putUpdatesOnly ? 'PUT by an unknown id is 404' : 'PUT by an unknown id creates it with that id', async () => {
        const r = await bed.api.call('PUT', `${base}/${newId}`, await c.create(`${n}-new`))
        if (c.putUpdatesOnly) {
          assert.equal(r.status, 404, JSON.stringify(r.body))
          assert.equal((await bed.api.call('GET', `${base}/${newId}`)).status, 404)
          return
        }
        assert.equal(r.status, 200, JSON.stringify(r.body))
        assert.equal(r.body.id, newId)
        assert.equal(typeof r.body.created_at, 'number')
        assert.equal((await bed.api.call('GET', `${base}/${newId}`)).body.id, newId)
      })

      if (c.key) {
        test(`PUT by ${c.key} creates, then updates the same row`, async () => {
          const keyValue = `${n}-by-key${c.entity === 'snis' ? '.sni.test' : ''}`
          const body = await c.put(`${n}-key`, patched)
          const made = await bed.api.call('PUT', `${base}/${keyValue}`, body)
          assert.equal(made.status, 200, JSON.stringify(made.body))
          assert.equal(made.body[c.key!], keyValue)
          assert.equal((await bed.api.call('GET', `${base}/${keyValue}`)).body.id, made.body.id)
          assert.equal((await bed.api.call('DELETE', `${base}/${keyValue}`)).status, 204)
          assert.equal((await bed.api.call('GET', `${base}/${made.body.id}`)).status, 404, 'DELETE by key')
        })

        test(`PUT by ${c.key} on an existing entity keeps its ${c.key}`, async () => {
          const keyValue = `${n}-again${c.entity === 'snis' ? '.sni.test' : ''}`
          const body = await c.put(`${n}-again`, patched)
          const made = await bed.api.call('PUT', `${base}/${keyValue}`, body)
          assert.equal(made.status, 200, JSON.stringify(made.body))
          const again = await bed.api.call('PUT', `${base}/${keyValue}`, body)
          assert.equal(again.status, 200, JSON.stringify(again.body))
          assert.equal(again.body.id, made.body.id)
          assert.equal(again.body[c.key!], keyValue)
          assert.equal(again.body.created_at, made.body.created_at)
          assert.equal((await bed.api.call('GET', `${base}/${keyValue}`)).status, 200)
        })
      }

      test('DELETE answers 204, then GET is 404; deleting again is 204 (404 under a parent, as Kong)', async () => {
        assert.equal((await bed.api.call('DELETE', `${base}/${created.id}`)).status, 204)
        const gone = await bed.api.call('GET', `${base}/${created.id}`)
        assert.equal(gone.status, 404)
        assert.deepEqual(gone.body, {message: 'Not found'})
        const nested = base.split('/').filter(Boolean).length > 1
        assert.equal((await bed.api.call('DELETE', `${base}/${created.id}`)).status, nested ? 404 : 204)
        if (!c.putUpdatesOnly) assert.equal((await bed.api.call('GET', `${base}/${newId}`)).status, 200, 'DELETE removes only its entity')
      })
    })
  }
})

describe('targets addressed by host:port under their upstream (Kong 3)', () => {
  test('PATCH, PUT and DELETE by host:port; PUT of an absent target is 404', async () => {
    const u = (await bed.api.call('POST', '/upstreams', {name: 'by-target.internal'})).body
    const t = (await bed.api.call('POST', `/upstreams/${u.id}/targets`, {target: '10.2.0.1:81'})).body
    const patched = await bed.api.call('PATCH', `/upstreams/${u.id}/targets/10.2.0.1:81`, {weight: 7})
    assert.equal(patched.status, 200, JSON.stringify(patched.body))
    assert.equal(patched.body.id, t.id)
    assert.equal(patched.body.weight, 7)
    const put = await bed.api.call('PUT', `/upstreams/${u.id}/targets/10.2.0.1:81`, {weight: 9})
    assert.equal(put.status, 200, JSON.stringify(put.body))
    assert.equal(put.body.id, t.id)
    assert.equal(put.body.weight, 9)
    assert.equal((await bed.api.call('PUT', `/upstreams/${u.id}/targets/10.2.0.9:81`, {weight: 9})).status, 404)
    assert.equal((await bed.api.call('DELETE', `/upstreams/${u.id}/targets/10.2.0.1:81`)).status, 204)
    assert.equal((await bed.api.call('GET', `/upstreams/${u.id}/targets/${t.id}`)).status, 404)
  })
})

describe('tags on another entity', () => {
  test('routes: a,b means both; a/b means either', async () => {
    const mk = (name: string, tags: string[]) => bed.api.call('POST', '/routes', {name, paths: [`/${name}`], tags})
    for (const [name, tags] of [['tag-r1', ['blue', 'edge']], ['tag-r2', ['blue']], ['tag-r3', ['edge', 'green']], ['tag-r4', ['green']]] as const) {
      assert.equal((await mk(name, [...tags])).status, 201)
    }
    const names = async (q: string) => {
      const r = await bed.api.call('GET', `/routes?tags=${q}`)
      assert.equal(r.status, 200, JSON.stringify(r.body))
      return r.body.data.map((x: any) => x.name).sort()
    }
    assert.deepEqual(await names('blue,edge'), ['tag-r1'])
    assert.deepEqual(await names('blue/green'), ['tag-r1', 'tag-r2', 'tag-r3', 'tag-r4'])
    assert.deepEqual(await names('edge'), ['tag-r1', 'tag-r3'])
    assert.deepEqual(await names('blue,green'), [])
  })

  test('a filter mixing , and / is refused', async () => {
    const mixed = await bed.api.call('GET', '/routes?tags=blue,edge/green')
    assert.equal(mixed.status, 400)
    assert.equal(mixed.body.code, 11)
  })
})
