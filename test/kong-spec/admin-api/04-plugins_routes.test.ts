/**
 * Kong's spec/02-integration/04-admin_api/04-plugins_routes_spec.lua (3.9), ported: the
 * same describe/it titles and assertions, against a real Admin API over Postgres. Kong's
 * `db.*:insert`/`db.plugins:select` go through the Admin API here; "all bundled plugins"
 * are the ones this node lists in `/plugins/enabled`.
 */
import assert from 'node:assert/strict'
import {randomUUID} from 'node:crypto'
import {after, before, describe, test as it} from 'node:test'
import {startSpecNode, type SpecNode} from './kong-client.js'

describe('Admin API #postgres', () => {
  let node: SpecNode
  before(async () => {
    node = await startSpecNode()
  })
  after(() => node?.close())
  const client = () => node.client
  const bp = () => node.bp
  const inDb = async (path: string) => {
    const res = await client().get(path)
    return res.status === 200 ? res.json : null
  }
  const json = {'Content-Type': 'application/json'}

  describe('/plugins/enabled', () => {
    it('returns a list of enabled plugins on this node', async () => {
      const res = await client().get('/plugins/enabled')
      assert.equal(res.status, 200)
      assert.ok(Array.isArray(res.json.enabled_plugins))
      assert.ok(res.json.enabled_plugins.length > 0)
    })
  })

  describe('/plugins', () => {
    const services: any[] = []
    const plugins: any[] = []
    before(async () => {
      for (let i = 1; i <= 3; i++) {
        const service = await bp().services.insert({name: `service-${i}`, protocol: 'http', host: '127.0.0.1', port: 15555})
        await bp().routes.insert({service: {id: service.id}, hosts: [`route_${i}.test`]})
        services[i] = service
        plugins[i] = await bp().plugins.insert({name: 'key-auth', instance_name: `key-auth-${i}`, service: {id: service.id}, config: {key_names: ['testkey']}})
      }
      services[4] = await bp().services.insert({name: 'service-4', protocol: 'http', host: '127.0.0.1', port: 15555})
      plugins[4] = await bp().plugins.insert({name: 'key-auth', instance_name: '円', service: {id: services[4].id}, config: {key_names: ['testkey']}})
    })

    describe('GET', () => {
      it('retrieves all plugins configured', async () => {
        const res = await client().get('/plugins')
        assert.equal(res.status, 200)
        assert.equal(res.json.data.length, 4)
      })
    })
    it('returns 405 on invalid method', async () => {
      for (const method of ['DELETE', 'PATCH']) {
        const res = await client().send(method, '/plugins', {body: {}, headers: json})
        assert.equal(res.status, 405)
        assert.deepEqual(res.json, {message: 'Method not allowed'})
      }
    })

    describe('/plugins/{plugin}', () => {
      describe('GET', () => {
        it('retrieves a plugin by id', async () => {
          const res = await client().get(`/plugins/${plugins[1].id}`)
          assert.equal(res.status, 200)
          assert.deepEqual(res.json, plugins[1])
        })
        it('retrieves a plugin by instance_name', async () => {
          const res = await client().get(`/plugins/${plugins[1].instance_name}`)
          assert.equal(res.status, 200)
          assert.deepEqual(res.json, plugins[1])
        })
        it('returns 404 if not found', async () => {
          const res = await client().get('/plugins/f4aecadc-05c7-11e6-8d41-1f3b3d5fa15c')
          assert.equal(res.status, 404)
        })
        it('returns 404 if not found by instance_name', async () => {
          const res = await client().get('/plugins/not-found')
          assert.equal(res.status, 404)
        })
        it('retrieves by utf-8 name and percent-escaped utf-8 name', async () => {
          let res = await client().get(`/plugins/${plugins[4].instance_name}`)
          assert.equal(res.status, 200, res.text)
          assert.deepEqual(res.json, plugins[4])
          res = await client().get('/plugins/%E5%86%86')
          assert.equal(res.status, 200, res.text)
          assert.deepEqual(res.json, plugins[4])
        })
      })

      describe('PUT', () => {
        it('can create a plugin', async () => {
          const service = await bp().services.insert()
          await bp().routes.insert({paths: ['/mypath'], service: {id: service.id}})
          const res = await client().put(`/plugins/${randomUUID()}`, {body: {name: 'key-auth', service: {id: service.id}}, headers: json})
          assert.equal(res.status, 200, res.text)
        })

        it('can create a plugin by instance_name', async () => {
          const service = await bp().services.insert()
          const instanceName = `name-${randomUUID()}`
          const res = await client().put(`/plugins/${instanceName}`, {body: {name: 'key-auth', service: {id: service.id}}, headers: json})
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.instance_name, instanceName)
        })

        it('can upsert a plugin by instance_name', async () => {
          const service = await bp().services.insert()
          const instanceName = `name-${randomUUID()}`
          let res = await client().put(`/plugins/${instanceName}`, {body: {name: 'key-auth', service: {id: service.id}, config: {key_names: ['testkey']}}, headers: json})
          assert.equal(res.status, 200, res.text)
          const pluginId = res.json.id
          res = await client().put(`/plugins/${instanceName}`, {body: {name: 'key-auth', service: {id: service.id}, config: {key_names: ['testkey2']}}, headers: json})
          assert.equal(res.status, 200, res.text)
          // upsert operation should not change the plugin id (Kong's `assert(a, b)` only checks a; the intent is checked here)
          assert.equal(res.json.id, pluginId)
          assert.equal(res.json.config.key_names[0], 'testkey2')
        })
      })

      describe('PATCH', () => {
        it('updates a plugin', async () => {
          const res = await client().patch(`/plugins/${plugins[1].id}`, {body: {enabled: false}, headers: json})
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.enabled, false)
          assert.deepEqual(await inDb(`/plugins/${plugins[1].id}`), res.json)
        })
        it('updates a plugin by instance_name', async () => {
          const res = await client().patch(`/plugins/${plugins[2].instance_name}`, {body: {enabled: false}, headers: json})
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.enabled, false)
          assert.deepEqual(await inDb(`/plugins/${plugins[2].id}`), res.json)
        })
        it('updates a plugin bis', async () => {
          const plugin = await inDb(`/plugins/${plugins[2].id}`)
          plugin.enabled = !plugin.enabled
          delete plugin.created_at
          delete plugin.updated_at
          const res = await client().patch(`/plugins/${plugin.id}`, {body: plugin, headers: json})
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.enabled, plugin.enabled)
        })
        it('updates a plugin (removing foreign key reference)', async () => {
          assert.equal(plugins[2].service.id, services[2].id)
          const res = await client().patch(`/plugins/${plugins[2].id}`, {body: {service: null}, headers: json})
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.service, null)
          assert.deepEqual(await inDb(`/plugins/${plugins[2].id}`), res.json)
        })
        it('does not infer json input', async () => {
          const res = await client().patch(`/plugins/${plugins[2].id}`, {body: {tags: null}, headers: json})
          assert.equal(res.status, 200, res.text)
        })
        describe('errors', () => {
          it('handles invalid input', async () => {
            const before = await inDb(`/plugins/${plugins[1].id}`)
            const res = await client().patch(`/plugins/${plugins[1].id}`, {body: {foo: 'bar'}, headers: json})
            assert.equal(res.status, 400, res.text)
            assert.deepEqual(res.json, {message: 'schema violation (foo: unknown field)', name: 'schema violation', fields: {foo: 'unknown field'}, code: 2})
            const after = await inDb(`/plugins/${plugins[1].id}`)
            assert.deepEqual(after, before)
            assert.deepEqual(after.config.key_names, ['testkey'])
          })
          it('handles invalid config, see #9224', async () => {
            const before = await inDb(`/plugins/${plugins[1].id}`)
            const res = await client().patch(`/plugins/${plugins[1].id}`, {body: {config: 'bar'}, headers: json})
            assert.equal(res.status, 400, res.text)
            assert.deepEqual(res.json, {message: 'schema violation (config: expected a record)', name: 'schema violation', fields: {config: 'expected a record'}, code: 2})
            const after = await inDb(`/plugins/${plugins[1].id}`)
            assert.deepEqual(after, before)
            assert.deepEqual(after.config.key_names, ['testkey'])
          })
          it('returns 404 if not found', async () => {
            const res = await client().patch('/plugins/f4aecadc-05c7-11e6-8d41-1f3b3d5fa15c', {body: {enabled: false}, headers: json})
            assert.equal(res.status, 404)
          })
        })
      })

      describe('DELETE', () => {
        it('deletes by id', async () => {
          const res = await client().delete(`/plugins/${plugins[3].id}`)
          assert.equal(res.status, 204)
        })
        it('deletes by instance_name', async () => {
          let res = await client().delete(`/plugins/${plugins[4].instance_name}`)
          assert.equal(res.status, 204)
          assert.equal(res.text, '')
          res = await client().get(`/plugins/${plugins[4].instance_name}`)
          assert.equal(res.status, 404)
        })
        describe('errors', () => {
          it('returns 204 if not found', async () => {
            const res = await client().delete('/plugins/f4aecadc-05c7-11e6-8d41-1f3b3d5fa15c')
            assert.equal(res.status, 204)
          })
          it('returns 204 if not found by instance_name', async () => {
            const res = await client().delete('/plugins/not-found')
            assert.equal(res.status, 204)
          })
        })
      })
    })
  })

  describe('/schemas/plugins/{plugin}', () => {
    describe('GET', () => {
      it('returns the schema of all bundled plugins', async () => {
        const enabled: string[] = (await client().get('/plugins/enabled')).json.enabled_plugins
        for (const plugin of enabled) {
          const res = await client().get(`/schemas/plugins/${plugin}`)
          assert.equal(res.status, 200, `${plugin}: ${res.text}`)
          assert.ok(Array.isArray(res.json.fields), plugin)
        }
      })
      // Kong's same case also asserts `is_table(json.entity_checks)`
      it('returns the schema of all bundled plugins (entity_checks)', {skip: "kctl's entity checks are code, not data: its schemas have no entity_checks (see docs/kong-specs.md)"}, () => {})
      it('returns nested records and empty array defaults as arrays', async () => {
        const res = await client().get('/schemas/plugins/request-transformer')
        assert.equal(res.status, 200)
        assert.ok(!res.text.includes('"entity_checks":{'))
        assert.ok(!res.text.includes('"fields":{'))
        assert.ok(res.text.includes('"default":[]'))
        assert.ok(!res.text.includes('"default":{}'))
      })
      it('returns 404 on invalid plugin', async () => {
        const res = await client().get('/schemas/plugins/foobar')
        assert.equal(res.status, 404)
        assert.deepEqual(res.json, {message: "No plugin named 'foobar'"})
      })
    })
  })
})
