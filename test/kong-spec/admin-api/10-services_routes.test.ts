/**
 * Kong's spec/02-integration/04-admin_api/10-services_routes_spec.lua (3.9), ported: the
 * same describe/it titles and assertions, against a real Admin API over Postgres. Kong's
 * `db.services:select(…)` checks read the entity back through the Admin API. Where Kong's
 * own spec returns early for multipart/form-data ("the client doesn't play well with
 * this"), the case is skipped here with that reason.
 */
import assert from 'node:assert/strict'
import {randomUUID} from 'node:crypto'
import {after, before, describe, test as it} from 'node:test'
import {CONTENT_TYPES, itContentTypes, startSpecNode, type ContentType, type SpecNode} from './kong-client.js'

const PROTOCOLS = 'expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp'
const KONG_SKIPS_MULTIPART = "Kong's spec skips this case for multipart/form-data (its client does not encode the body)"

/** `it_content_types` for the cases Kong's spec returns early from with multipart. */
function itContentTypesNoMultipart(title: string, fn: (ct: ContentType) => () => Promise<void>): void {
  const label = (ct: ContentType) => (ct === 'application/x-www-form-urlencoded' ? 'application/www-form-urlencoded' : ct)
  for (const ct of CONTENT_TYPES) it(`${title} with ${label(ct)}`, ct === 'multipart/form-data' ? {skip: KONG_SKIPS_MULTIPART} : {}, ct === 'multipart/form-data' ? () => {} : fn(ct))
}

describe('Admin API #postgres', () => {
  let node: SpecNode
  before(async () => {
    node = await startSpecNode()
  })
  after(() => node?.close())
  const client = () => node.client
  const bp = () => node.bp
  /** Kong's `db:truncate("services")` (with the routes and plugins that point at them). */
  const truncateServices = async () => {
    for (const path of ['/plugins', '/routes', '/services']) {
      for (;;) {
        const page = (await client().get(path, {query: {size: 1000}})).json
        if (!page.data.length) break
        for (const e of page.data) await client().delete(`${path}/${e.id}`)
      }
    }
  }
  const keyAuthPlugin = (over: Record<string, unknown>) => bp().plugins.insert({name: 'key-auth', ...over})
  const inDb = async (path: string) => {
    const res = await client().get(path)
    assert.equal(res.status, 200, res.text)
    return res.json
  }

  describe('/services', () => {
    describe('POST', () => {
      itContentTypes('creates a service', (contentType) => async () => {
        const res = await client().post('/services', {body: {protocol: 'http', host: 'service.test'}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 201, res.text)
        const json = res.json
        assert.equal(typeof json.id, 'string')
        assert.equal(typeof json.created_at, 'number')
        assert.equal(typeof json.updated_at, 'number')
        assert.equal(json.name, null)
        assert.equal(json.protocol, 'http')
        assert.equal(json.host, 'service.test')
        assert.equal(json.port, 80)
        assert.equal(json.connect_timeout, 60000)
        assert.equal(json.write_timeout, 60000)
        assert.equal(json.read_timeout, 60000)
      })
      itContentTypes('creates a service with url', (contentType) => async () => {
        const res = await client().post('/services', {body: {url: 'http://service.test/'}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 201, res.text)
        const json = res.json
        assert.equal(typeof json.id, 'string')
        assert.equal(typeof json.created_at, 'number')
        assert.equal(typeof json.updated_at, 'number')
        assert.equal(json.name, null)
        assert.equal(json.protocol, 'http')
        assert.equal(json.host, 'service.test')
        assert.equal(json.path, '/')
        assert.equal(json.port, 80)
        assert.equal(json.connect_timeout, 60000)
        assert.equal(json.write_timeout, 60000)
        assert.equal(json.read_timeout, 60000)
      })
      itContentTypes("'port' defaults to 443 when 'url' scheme is https", (contentType) => async () => {
        const res = await client().post('/services', {body: {url: 'https://service.test/'}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 201, res.text)
        const json = res.json
        assert.equal(typeof json.id, 'string')
        assert.equal(typeof json.created_at, 'number')
        assert.equal(typeof json.updated_at, 'number')
        assert.equal(json.name, null)
        assert.equal(json.protocol, 'https')
        assert.equal(json.host, 'service.test')
        assert.equal(json.path, '/')
        assert.equal(json.port, 443)
        assert.equal(json.connect_timeout, 60000)
        assert.equal(json.write_timeout, 60000)
        assert.equal(json.read_timeout, 60000)
      })
      itContentTypes('client error with with empty url', (contentType) => async () => {
        const res = await client().post('/services', {body: {url: ''}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 400, res.text)
      })
      itContentTypes('client error with invalid url', (contentType) => async () => {
        const res = await client().post('/services', {body: {url: ' '}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 400, res.text)
      })
    })

    describe('GET', () => {
      describe('with data', () => {
        before(async () => {
          await truncateServices()
          for (let i = 0; i < 10; i++) await bp().named_services.insert()
        })
        it('retrieves the first page', async () => {
          const res = await client().get('/services')
          assert.equal(res.status, 200)
          assert.equal(res.json.data.length, 10)
        })
        it('paginates a set', async () => {
          const pages: unknown[] = []
          let offset: string | undefined
          for (let i = 1; i <= 4; i++) {
            const res = await client().get('/services', {query: {size: 3, offset}})
            assert.equal(res.status, 200, res.text)
            const json = res.json
            assert.equal(json.data.length, i < 4 ? 3 : 1)
            if (i > 1) assert.notDeepEqual(json, pages[i - 2])
            offset = json.offset
            pages.push(json)
          }
        })
        it('propagate in next a page size', async () => {
          const res = await client().get('/services', {query: {size: 3}})
          assert.equal(res.status, 200)
          const json = res.json
          assert.equal(json.next, `/services?offset=${encodeURIComponent(json.offset)}&size=3`)
        })
      })

      describe('with no data', () => {
        before(truncateServices)
        it('data property is an empty array and not an empty hash', async () => {
          const res = await client().get('/services')
          assert.equal(res.status, 200)
          assert.match(res.text, /"data":\[\]/)
          assert.deepEqual(res.json, {data: [], next: null})
        })
      })

      describe('errors', () => {
        it('handles invalid filters', async () => {
          const res = await client().get('/services', {query: {foo: 'bar'}})
          assert.equal(res.status, 200)
          assert.deepEqual(res.json, {data: [], next: null})
        })
        it('ignores an invalid body', async () => {
          const res = await client().get('/services', {raw: 'this fails if decoded as json', headers: {'Content-Type': 'application/json'}})
          assert.equal(res.status, 200)
        })
      })
    })

    describe('/services/{service}', () => {
      describe('GET', () => {
        it('retrieves by id', async () => {
          const service = await bp().services.insert()
          const res = await client().get(`/services/${service.id}`)
          assert.equal(res.status, 200)
          assert.deepEqual(res.json, service)
        })
        it('retrieves by name', async () => {
          const service = await bp().named_services.insert()
          const res = await client().get(`/services/${service.name}`)
          assert.equal(res.status, 200)
          assert.deepEqual(res.json, service)
        })
        it('retrieves by utf-8 name and percent-escaped utf-8 name', async () => {
          const service = await bp().services.insert({name: '円'})
          let res = await client().get(`/services/${service.name}`)
          assert.equal(res.status, 200)
          assert.deepEqual(res.json, service)
          res = await client().get('/services/%E5%86%86')
          assert.equal(res.status, 200)
          assert.deepEqual(res.json, service)
        })
        it('returns 404 if not found', async () => {
          assert.equal((await client().get(`/services/${randomUUID()}`)).status, 404)
        })
        it('returns 404 if not found by name', async () => {
          assert.equal((await client().get('/services/not-found')).status, 404)
        })
        it('ignores an invalid body', async () => {
          const service = await bp().services.insert()
          const res = await client().get(`/services/${service.id}`, {raw: 'this fails if decoded as json', headers: {'Content-Type': 'application/json'}})
          assert.equal(res.status, 200)
        })
        it('ignores an invalid body by name', async () => {
          const service = await bp().named_services.insert()
          const res = await client().get(`/services/${service.name}`, {raw: 'this fails if decoded as json', headers: {'Content-Type': 'application/json'}})
          assert.equal(res.status, 200)
        })
      })

      describe('PATCH', () => {
        itContentTypesNoMultipart('updates if found', (contentType) => async () => {
          const service = await bp().services.insert()
          const res = await client().patch(`/services/${service.id}`, {body: {name: null, protocol: 'https'}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 200, res.text)
          const json = res.json
          assert.equal(json.name, null)
          assert.equal(json.protocol, 'https')
          assert.equal(json.id, service.id)
          assert.deepEqual(await inDb(`/services/${service.id}`), json)
        })
        itContentTypes('updates if found by name', (contentType) => async () => {
          const service = await bp().named_services.insert()
          const res = await client().patch(`/services/${service.name}`, {body: {protocol: 'https'}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 200, res.text)
          const json = res.json
          assert.equal(json.protocol, 'https')
          assert.equal(json.id, service.id)
          assert.equal(json.name, service.name)
          assert.deepEqual(await inDb(`/services/${service.name}`), json)
        })
        itContentTypesNoMultipart('updates with url', (contentType) => async () => {
          const service = await bp().services.insert()
          let res = await client().patch(`/services/${service.id}`, {body: {url: 'http://example.test:443'}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 200, res.text)
          let json = res.json
          assert.equal(json.protocol, 'http')
          assert.equal(json.host, 'example.test')
          assert.equal(json.port, 443)
          assert.equal(json.path, null)
          assert.equal(json.id, service.id)
          assert.deepEqual(await inDb(`/services/${service.id}`), json)

          res = await client().patch(`/services/${service.id}`, {body: {url: 'https://example2.test:80/'}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 200, res.text)
          json = res.json
          assert.equal(json.protocol, 'https')
          assert.equal(json.host, 'example2.test')
          assert.equal(json.port, 80)
          assert.equal(json.path, '/')
          assert.equal(json.id, service.id)
          assert.deepEqual(await inDb(`/services/${service.id}`), json)

          res = await client().patch(`/services/${service.id}`, {body: {url: 'http://example2.test'}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 200, res.text)
          json = res.json
          assert.equal(json.protocol, 'http')
          assert.equal(json.host, 'example2.test')
          assert.equal(json.port, 80)
          assert.equal(json.path, null)
          assert.equal(json.id, service.id)
          assert.deepEqual(await inDb(`/services/${service.id}`), json)
        })
      })

      describe('DELETE', () => {
        it('deletes a service', async () => {
          const service = await bp().services.insert()
          const res = await client().delete(`/services/${service.id}`)
          assert.equal(res.status, 204)
          assert.equal(res.text, '')
          assert.equal((await client().get(`/services/${service.id}`)).status, 404)
        })
        it('deletes a service by name', async () => {
          const service = await bp().named_services.insert()
          const res = await client().delete(`/services/${service.name}`)
          assert.equal(res.status, 204)
          assert.equal(res.text, '')
          assert.equal((await client().get(`/services/${service.name}`)).status, 404)
        })
        describe('errors', () => {
          it('returns HTTP 204 even if not found', async () => {
            assert.equal((await client().delete(`/services/${randomUUID()}`)).status, 204)
          })
          it('returns HTTP 204 even if not found by name', async () => {
            assert.equal((await client().delete('/services/not-found')).status, 204)
          })
        })
      })
    })

    describe('/services/{service}/routes', () => {
      itContentTypes('lists all routes belonging to service', (contentType) => async () => {
        const service = await bp().services.insert({protocol: 'http', host: 'service.test'})
        const route = await bp().routes.insert({hosts: ['service.test'], service: {id: service.id}})
        await bp().routes.insert({hosts: ['service.test'], service: null})
        const res = await client().get(`/services/${service.id}/routes`, {headers: {'Content-Type': contentType}})
        assert.equal(res.status, 200, res.text)
        assert.deepEqual(res.json, {data: [route], next: null})
      })
    })

    describe('/services/{service}/plugins', () => {
      const inputs: Partial<Record<ContentType, Record<string, unknown>>> = {
        'application/x-www-form-urlencoded': {name: 'key-auth', 'config.key_names[1]': 'apikey', 'config.key_names[2]': 'key'},
        'application/json': {name: 'key-auth', config: {key_names: ['apikey', 'key']}},
      }

      describe('POST', () => {
        itContentTypesNoMultipart('creates a plugin config for a Service', (contentType) => async () => {
          const service = await bp().services.insert()
          const res = await client().post(`/services/${service.id}/plugins`, {body: inputs[contentType], headers: {'Content-Type': contentType}})
          assert.equal(res.status, 201, res.text)
          assert.equal(res.json.name, 'key-auth')
          assert.deepEqual(res.json.config.key_names, ['apikey', 'key'])
        })
        itContentTypesNoMultipart('references a Service by name', (contentType) => async () => {
          const service = await bp().named_services.insert()
          const res = await client().post(`/services/${service.name}/plugins`, {body: inputs[contentType], headers: {'Content-Type': contentType}})
          assert.equal(res.status, 201, res.text)
          assert.equal(res.json.name, 'key-auth')
          assert.deepEqual(res.json.config.key_names, ['apikey', 'key'])
        })

        describe('errors', () => {
          itContentTypes('handles invalid input', (contentType) => async () => {
            const service = await bp().services.insert()
            const res = await client().post(`/services/${service.id}/plugins`, {body: {}, headers: {'Content-Type': contentType}})
            assert.equal(res.status, 400, res.text)
            assert.deepEqual(res.json, {code: 2, name: 'schema violation', message: 'schema violation (name: required field missing)', fields: {name: 'required field missing'}})
          })
          itContentTypes('returns 409 on conflict (same plugin name)', (contentType) => async () => {
            const service = await bp().services.insert()
            let res = await client().post(`/services/${service.id}/plugins`, {body: {name: 'basic-auth'}, headers: {'Content-Type': contentType}})
            assert.equal(res.status, 201, res.text)
            assert.equal(typeof res.json, 'object')
            res = await client().post(`/services/${service.id}/plugins`, {body: {name: 'basic-auth'}, headers: {'Content-Type': contentType}})
            assert.equal(res.status, 409, res.text)
            assert.deepEqual(res.json, {
              code: 5,
              name: 'unique constraint violation',
              fields: {consumer: null, name: 'basic-auth', route: null, service: {id: service.id}},
              message: `UNIQUE violation detected on '{consumer=null,name="basic-auth",route=null,service={id="${service.id}"}}'`,
            })
          })
          it('returns 409 on id conflict (same plugin id)', {skip: "Kong's spec wraps this body in a function that `it` never calls, so Kong never runs it; its expected body (`{id = \"already exists with value …\"}`) is not what Kong answers"}, () => {})
        })
      })

      describe('PATCH', () => {
        it('updates a plugin', async () => {
          const service = await bp().services.insert()
          await bp().routes.insert({service: {id: service.id}, hosts: ['example.test']})
          const plugin = await keyAuthPlugin({service: {id: service.id}})
          const res = await client().patch(`/services/${service.id}/plugins/${plugin.id}`, {body: {enabled: false}, headers: {'Content-Type': 'application/json'}})
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.enabled, false)
          assert.deepEqual(await inDb(`/plugins/${plugin.id}`), res.json)
        })
        it('updates a plugin bis', async () => {
          const service = await bp().services.insert()
          await bp().routes.insert({service: {id: service.id}, hosts: ['example.test']})
          const plugin = await keyAuthPlugin({service: {id: service.id}})
          plugin.enabled = !plugin.enabled
          delete plugin.created_at
          delete plugin.updated_at
          const res = await client().patch(`/services/${service.id}/plugins/${plugin.id}`, {body: plugin, headers: {'Content-Type': 'application/json'}})
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.enabled, plugin.enabled)
        })
        it('updates a plugin (removing foreign key reference)', async () => {
          const service = await bp().services.insert()
          const plugin = await keyAuthPlugin({service: {id: service.id}})
          const res = await client().patch(`/services/${service.id}/plugins/${plugin.id}`, {body: {service: null}, headers: {'Content-Type': 'application/json'}})
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.service, null)
          assert.deepEqual(await inDb(`/plugins/${plugin.id}`), res.json)
        })

        describe('errors', () => {
          it('handles invalid input', async () => {
            const service = await bp().services.insert()
            await bp().routes.insert({service: {id: service.id}, hosts: ['example.test']})
            const plugin = await keyAuthPlugin({service: {id: service.id}, config: {key_names: ['testkey']}})
            const before = await inDb(`/plugins/${plugin.id}`)
            const res = await client().patch(`/services/${service.id}/plugins/${plugin.id}`, {body: {foo: 'bar'}, headers: {'Content-Type': 'application/json'}})
            assert.equal(res.status, 400, res.text)
            assert.deepEqual(res.json, {message: 'schema violation (foo: unknown field)', name: 'schema violation', fields: {foo: 'unknown field'}, code: 2})
            const afterPatch = await inDb(`/plugins/${plugin.id}`)
            assert.deepEqual(afterPatch, before)
            assert.deepEqual(afterPatch.config.key_names, ['testkey'])
          })
          it('returns 404 if not found', async () => {
            const service = await bp().services.insert()
            const res = await client().patch(`/services/${service.id}/plugins/f4aecadc-05c7-11e6-8d41-1f3b3d5fa15c`, {body: {enabled: false}, headers: {'Content-Type': 'application/json'}})
            assert.equal(res.status, 404, res.text)
          })
        })
      })

      describe('GET', () => {
        it('retrieves the first page', async () => {
          const service = await bp().services.insert()
          await keyAuthPlugin({service: {id: service.id}})
          const res = await client().get(`/services/${service.id}/plugins`)
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.data.length, 1)
        })
        it('ignores an invalid body', async () => {
          const service = await bp().services.insert()
          const res = await client().get(`/services/${service.id}/plugins`, {raw: 'this fails if decoded as json', headers: {'Content-Type': 'application/json'}})
          assert.equal(res.status, 200)
        })
      })
    })

    describe('/services/{service}/plugins/{plugin}', () => {
      describe('GET', () => {
        it('retrieves a plugin by id', async () => {
          const service = await bp().services.insert()
          const plugin = await keyAuthPlugin({service: {id: service.id}})
          const res = await client().get(`/services/${service.id}/plugins/${plugin.id}`)
          assert.equal(res.status, 200, res.text)
          assert.deepEqual(res.json, await inDb(`/plugins/${plugin.id}`))
        })
        it('retrieves a plugin by instance_name', async () => {
          const service = await bp().services.insert()
          const plugin = await keyAuthPlugin({instance_name: `name-${randomUUID()}`, service: {id: service.id}})
          const res = await client().get(`/services/${service.id}/plugins/${plugin.instance_name}`)
          assert.equal(res.status, 200, res.text)
          assert.deepEqual(res.json, await inDb(`/plugins/${plugin.id}`))
        })
      })

      describe('DELETE', () => {
        it('deletes a plugin by id', async () => {
          const service = await bp().services.insert()
          const plugin = await keyAuthPlugin({service: {id: service.id}})
          const res = await client().delete(`/services/${service.id}/plugins/${plugin.id}`)
          assert.equal(res.status, 204, res.text)
          assert.equal((await client().get(`/plugins/${plugin.id}`)).status, 404)
        })
        it('deletes a plugin by instance_name', async () => {
          const service = await bp().services.insert()
          const plugin = await keyAuthPlugin({instance_name: `name-${randomUUID()}`, service: {id: service.id}})
          const res = await client().delete(`/services/${service.id}/plugins/${plugin.instance_name}`)
          assert.equal(res.status, 204, res.text)
          assert.equal((await client().get(`/plugins/${plugin.id}`)).status, 404)
        })
      })
    })

    describe('errors', () => {
      it('handles malformed JSON body', async () => {
        const res = await client().post('/services', {raw: '{"hello": "world"', headers: {'Content-Type': 'application/json'}})
        assert.equal(res.status, 400)
        assert.equal(res.text, '{"message":"Cannot parse JSON body"}')
      })
      itContentTypes('handles invalid input', (contentType) => async () => {
        let res = await client().post('/services', {body: {}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 400, res.text)
        assert.deepEqual(res.json.fields, {host: 'required field missing'})
        res = await client().post('/services', {body: {host: 'example.test', protocol: 'foo'}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 400, res.text)
        assert.deepEqual(res.json.fields, {protocol: PROTOCOLS})
      })
      itContentTypes('handles invalid url ', (contentType) => async () => {
        const res = await client().post('/services', {body: {url: 'invalid url'}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 400, res.text)
        assert.deepEqual(res.json, {
          name: 'schema violation',
          code: 2,
          message: '2 schema violations (host: required field missing; path: should start with: /)',
          fields: {host: 'required field missing', path: 'should start with: /'},
        })
      })
    })
  })
})
