/**
 * Kong's spec/02-integration/04-admin_api/02-kong_routes_spec.lua (3.9), ported: the same
 * describe/it titles and assertions, against real node processes (`database = postgres`
 * over a real Postgres, and `database = off`), as Kong runs the file for each strategy.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test as it} from 'node:test'
import {findFreePort} from '../../../src/kit/ports.js'
import {GATEWAY_VERSION} from '../../../src/runtime/kit/version.js'
import {bundledPlugins} from '../../../src/runtime/plugins/registry.js'
import {ENTITIES} from '../../../src/runtime/schema/registry.js'
import {makeCert} from '../../helpers/certs.js'
import {until} from '../../helpers/until.js'
import {freshDatabase, killAll, pgValues, spawnNode} from '../../helpers/nodes.js'
import {startTestPostgres, type TestPostgres} from '../../helpers/postgres.js'
import {KongClient} from './kong-client.js'

const UUID_PATTERN = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/
const EMPTY_CONFIG_HASH = '00000000000000000000000000000000'
const dir = mkdtempSync(join(tmpdir(), 'kctl-kong-routes-'))
let pg: TestPostgres

before(async () => {
  pg = await startTestPostgres()
})
after(async () => {
  killAll()
  await pg?.stop()
  rmSync(dir, {recursive: true, force: true})
})

async function startNode(strategy: string, extra: Record<string, string | number> = {}): Promise<{client: KongClient; stop(): Promise<unknown>}> {
  const admin = await findFreePort()
  const status = await findFreePort()
  const db: Record<string, string | number> = strategy === 'postgres' ? pgValues(pg, await freshDatabase(pg, `kong_routes_${Date.now()}`)) : {database: 'off'}
  const node = spawnNode(dir, {...db, proxy_listen: `127.0.0.1:${await findFreePort()}`, admin_listen: `127.0.0.1:${admin}`, status_listen: `127.0.0.1:${status}`, ...extra})
  const client = new KongClient(`http://127.0.0.1:${admin}`)
  // a DB-less node without a configuration is not ready (503), yet serves its Admin API
  await until('the Admin API answers', async () => (await client.get('/status').catch(() => null))?.status === 200, {timeoutMs: 60_000})
  return {client, stop: () => node.stop()}
}

for (const strategy of ['postgres', 'off']) {
  describe(`Admin API - Kong routes with strategy #${strategy}`, () => {
    let client: KongClient
    let stop: () => Promise<unknown>
    before(async () => {
      ;({client, stop} = await startNode(strategy))
    })
    after(() => stop?.())

    describe('/', () => {
      it('returns headers with HEAD method', async () => {
        const res1 = await client.send('GET', '/')
        assert.equal(res1.status, 200)
        assert.notEqual(res1.text, '')
        const res2 = await client.send('HEAD', '/')
        assert.equal(res2.status, 200)
        assert.equal(res2.text, '')
        const strip = (h: Headers) => Object.fromEntries([...h].filter(([k]) => !['date', 'x-kong-admin-latency', 'content-length'].includes(k)))
        // the body holds live pids and counters: the same headers, the length aside
        assert.deepEqual(strip(res2.headers), strip(res1.headers))
      })

      it('returns allow and CORS headers with OPTIONS method', async () => {
        const res = await client.send('OPTIONS', '/')
        assert.equal(res.status, 204)
        assert.equal(res.text, '')
        assert.equal(res.headers.get('allow'), 'GET, HEAD, OPTIONS')
        assert.equal(res.headers.get('access-control-allow-methods'), 'GET, HEAD, OPTIONS')
        assert.equal(res.headers.get('access-control-allow-headers'), 'Content-Type')
        assert.equal(res.headers.get('access-control-allow-origin'), '*')
        assert.notEqual(res.headers.get('x-kong-admin-latency'), null)
      })

      it("returns Kong's version number, edition info and tagline", async () => {
        const res = await client.get('/')
        assert.equal(res.status, 200)
        assert.equal(res.json.version, GATEWAY_VERSION)
        assert.equal(res.json.edition, 'community')
        assert.equal(res.json.tagline, 'Welcome to kong')
      })
      it('returns a UUID as the node_id', async () => {
        const res = await client.get('/')
        assert.equal(res.status, 200)
        assert.match(res.json.node_id, UUID_PATTERN)
      })
      it('response has the correct Server header', async () => {
        const res = await client.get('/')
        assert.equal(res.status, 200)
        assert.equal(res.headers.get('server'), `kong/${GATEWAY_VERSION}`)
        assert.equal(res.headers.get('via'), null)
      })
      it('returns 405 on invalid method', async () => {
        // Kong's list ends with GEEEET: Node's HTTP parser refuses a method it does not
        // know before any handler runs (400, connection closed), see the next test.
        for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
          const res = await client.send(method, '/', {body: {}, headers: {'Content-Type': 'application/json'}})
          assert.equal(res.status, 405, method)
          assert.deepEqual(res.json, {message: 'Method not allowed'})
        }
      })
      it('returns 405 on invalid method (GEEEET)', {skip: "kctl differs: Node's HTTP parser answers an unknown method 400 Bad Request itself, before the Admin API sees it"}, () => {})
      it("exposes the node's configuration", async () => {
        const res = await client.get('/')
        assert.equal(res.status, 200)
        assert.equal(typeof res.json.configuration, 'object')
      })
      it('enabled_in_cluster property is an array', async () => {
        const res = await client.get('/')
        assert.equal(res.status, 200)
        assert.ok(res.text.includes('"enabled_in_cluster":[]'))
      })
      it('obfuscates sensitive settings from the configuration', {skip: strategy === 'off' ? 'the off strategy has no pg_password to hide here' : false}, async () => {
        const res = await client.get('/')
        assert.equal(res.status, 200)
        assert.equal(typeof res.json.configuration.pg_password, 'string')
        assert.notEqual(res.json.configuration.pg_password, pg.password)
      })
      it('returns process ids', async () => {
        const res = await client.get('/')
        assert.equal(res.status, 200)
        assert.equal(typeof res.json.pids, 'object')
        assert.match(String(res.json.pids.master), /\d+/)
        assert.ok(Array.isArray(res.json.pids.workers) && res.json.pids.workers.length > 0)
        for (const v of res.json.pids.workers) assert.match(String(v), /\d+/)
      })
      it('does not return PRNG seeds', async () => {
        const res = await client.get('/')
        assert.equal(res.status, 200)
        assert.equal(res.json.prng_seeds, undefined)
      })
    })

    describe('/endpoints', () => {
      it('only returns base, plugin, and custom-plugin endpoints', async () => {
        const res = await client.get('/endpoints')
        assert.equal(res.status, 200, res.text)
        const find = (endpoint: string) => assert.ok(res.json.data.includes(endpoint), `endpoint '${endpoint}' not found in list of endpoints from \`/endpoints\``)
        find('/plugins')
        find('/basic-auths/{basicauth_credentials}')
        // Kong's third one is its test plugin's (`/reports/send-ping`); kctl has no custom plugins
      })
    })

    describe('/status', () => {
      it('returns status info', async () => {
        const res = await client.get('/status')
        assert.equal(res.status, 200)
        const json = res.json
        assert.equal(typeof json.server, 'object')
        for (const k of ['connections_accepted', 'connections_active', 'connections_handled', 'connections_reading', 'connections_writing', 'connections_waiting', 'total_requests']) {
          assert.equal(typeof json.server[k], 'number', k)
        }
        if (strategy === 'off') {
          assert.equal(json.configuration_hash, EMPTY_CONFIG_HASH)
          assert.equal(json.database, undefined)
        } else {
          assert.equal(json.configuration_hash, undefined)
          assert.equal(typeof json.database, 'object')
          assert.equal(typeof json.database.reachable, 'boolean')
        }
      })

      it('returns status info including a configuration_hash in DBLESS mode if an initial configuration has been provided #off', {skip: strategy !== 'off' ? 'an #off test' : false}, async () => {
        const post = await client.post('/config', {body: {config: '_format_version: "1.1"\nservices:\n- host: "konghq.com"\n'}, headers: {'Content-Type': 'application/json'}})
        assert.equal(post.status, 201, post.text)
        const res = await client.get('/status')
        assert.equal(res.status, 200)
        const json = res.json
        assert.equal(json.database, undefined)
        assert.equal(typeof json.server, 'object')
        for (const k of ['connections_accepted', 'connections_active', 'connections_handled', 'connections_reading', 'connections_writing', 'connections_waiting', 'total_requests']) {
          assert.equal(typeof json.server[k], 'number', k)
        }
        assert.equal(typeof json.configuration_hash, 'string')
        assert.equal(json.configuration_hash.length, 32)
        assert.notEqual(json.configuration_hash, EMPTY_CONFIG_HASH)
      })

      it('database.reachable is `true` when DB connection is healthy', async () => {
        const res = await client.get('/status')
        assert.equal(res.status, 200)
        if (strategy === 'off') assert.equal(res.json.database, undefined)
        else assert.equal(res.json.database.reachable, true)
      })

      describe('memory stats', () => {
        const why = "kctl differs: Kong's figures are nginx shared dicts and per-worker Lua VMs, which a Node.js node does not have; kctl's /status reports memory.rss_bytes"
        it('returns lua_shared_dicts memory stats', {skip: why}, () => {})
        it('returns workers Lua VM allocated memory', {skip: why}, () => {})
        it('returns workers in ascending PID values', {skip: why}, () => {})
        it("accepts a 'unit' querystring argument", {skip: why}, () => {})
        it('when unit is bytes, returned properties are numbers', {skip: why}, () => {})
        it("accepts a 'scale' querystring argument", {skip: why}, () => {})
        it("returns HTTP 400 on invalid 'unit' querystring parameter", {skip: why}, () => {})
      })
    })

    describe('/schemas/:entity', () => {
      it('returns the schema of all DB entities', async () => {
        for (const schema of ENTITIES) {
          const res = await client.get(`/schemas/${schema.name}`)
          assert.equal(res.status, 200, schema.name)
          assert.ok(Array.isArray(res.json.fields), schema.name)
        }
      })
      it('returns the schema of all DB entities (entity_checks)', {skip: "kctl differs: its entity checks are code, not data, so /schemas/{entity} lists fields only"}, () => {})
      it('returns 404 on a missing entity', async () => {
        const res = await client.get('/schemas/not-present')
        assert.equal(res.status, 404)
        assert.deepEqual(res.json, {message: "No entity named 'not-present'"})
      })
      it('does not return schema of a foreign key', async () => {
        const res = await client.get('/schemas/routes')
        assert.equal(res.status, 200)
        const service = res.json.fields.find((f: Record<string, unknown>) => Object.keys(f)[0] === 'service')
        assert.ok(service, 'routes have a service field')
        assert.equal(service.service.schema, undefined)
      })
    })

    describe('/schemas/vaults/:name', () => {
      const why = 'kctl has no vaults (secrets are read from the environment by kong.conf only)'
      it('returns schema of all vaults', {skip: why}, () => {})
      it('returns 404 on a non-existent vault', {skip: why}, () => {})
      it('does not return 405 on /schemas/vaults/validate', {skip: why}, () => {})
    })

    describe('/schemas/:entity', () => {
      it('returns schema of all plugins', async () => {
        for (const plugin of bundledPlugins()) {
          const res = await client.get(`/schemas/plugins/${plugin.name}`)
          assert.equal(res.status, 200, plugin.name)
          assert.ok(Array.isArray(res.json.fields), plugin.name)
        }
      })
      it('returns 404 on a non-existent plugin', async () => {
        const res = await client.get('/schemas/plugins/not-present')
        assert.equal(res.status, 404)
        assert.deepEqual(res.json, {message: "No plugin named 'not-present'"})
      })
      it('returns information about a deprecated field', {skip: "Kong's test plugin `dummy` has a deprecated field; no bundled kctl plugin has one"}, () => {})
    })

    describe('/schemas/:db_entity_name/validate', () => {
      it('returns 200 on a valid schema', async () => {
        const res = await client.post('/schemas/services/validate', {body: {host: 'example.com'}, headers: {'Content-Type': 'application/json'}})
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.message, 'schema validation successful')
      })
      it('returns 200 on certificates schema with snis', async () => {
        const {cert: certificate, key} = await makeCert('ssl-example.com')
        const res = await client.post('/schemas/certificates/validate', {body: {cert: certificate, key, snis: ['a', 'b', 'c']}, headers: {'Content-Type': 'application/json'}})
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.message, 'schema validation successful')
      })
      it('returns 400 on certificates schema with invalid snis', async () => {
        const {cert: certificate, key} = await makeCert('ssl-example.com')
        const res = await client.post('/schemas/certificates/validate', {body: {cert: certificate, key, snis: ['120.0.9.32:90']}, headers: {'Content-Type': 'application/json'}})
        assert.equal(res.status, 400, res.text)
        assert.deepEqual(res.json, {fields: {snis: ['must not be an IP']}, name: 'schema violation', message: 'schema violation (snis.1: must not be an IP)', code: 2})
      })
      it('returns 200 on a valid plugin schema', async () => {
        const res = await client.post('/schemas/plugins/validate', {body: {name: 'key-auth', config: {key_names: ['foo', 'bar'], hide_credentials: true}}, headers: {'Content-Type': 'application/json'}})
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.message, 'schema validation successful')
      })
      it('returns 400 on an invalid plugin subschema', async () => {
        const res = await client.post('/schemas/plugins/validate', {body: {name: 'key-auth', config: {keys: 'foo'}}, headers: {'Content-Type': 'application/json'}})
        assert.equal(res.status, 400, res.text)
        assert.equal(res.json.name, 'schema violation')
      })
      it('returns 200 on a valid plugin schema which contains dot in the key of custom_fields_by_lua', {skip: 'kctl runs no Lua: file-log refuses a non-empty custom_fields_by_lua'}, () => {})
    })

    describe('/non-existing', () => {
      it('returns 404 with HEAD', async () => {
        const res = await client.send('HEAD', '/non-existing')
        assert.equal(res.status, 404)
        assert.equal(res.text, '')
      })
      for (const method of ['OPTIONS', 'GET', 'POST', 'PUT', 'DELETE']) {
        it(`returns 404 with ${method}`, async () => {
          const res = await client.send(method, '/non-existing')
          assert.equal(res.status, 404)
          assert.equal(res.json.message, 'Not found')
        })
      }
    })
  })
}

describe('Admin API - node ID is set correctly', () => {
  it('returns node-id set in configuration', {skip: "kctl differs: a node's id is derived from its prefix and kept there (kctl names nodes by it); kong.conf's node_id is not read"}, () => {})
})
