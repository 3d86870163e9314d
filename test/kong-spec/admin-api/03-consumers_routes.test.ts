/**
 * Kong's spec/02-integration/04-admin_api/03-consumers_routes_spec.lua (3.9), ported:
 * the same describe/it titles and assertions, against a real Admin API over Postgres.
 * Kong's test plugin `rewriter` (config.value, config.extra) is request-termination here
 * (config.message, config.status_code), a bundled plugin that can be scoped to a consumer.
 */
import assert from 'node:assert/strict'
import {randomUUID} from 'node:crypto'
import {after, before, beforeEach, describe, test as it} from 'node:test'
import {until} from '../../helpers/until.js'
import {gensym, itContentTypes, startSpecNode, type SpecNode} from './kong-client.js'

const escape = encodeURIComponent

describe('Admin API (#postgres): ', () => {
  let node: SpecNode
  before(async () => {
    node = await startSpecNode()
  })
  after(() => node?.close())
  const client = () => node.client
  const bp = () => node.bp
  const insertPlugin = (consumer: {id: string}, config: Record<string, unknown> = {message: 'potato'}) =>
    bp().plugins.insert({name: 'request-termination', consumer: {id: consumer.id}, config})
  const truncateConsumers = async () => {
    for (;;) {
      const page = (await client().get('/consumers', {query: {size: 1000}})).json
      if (!page.data.length) return
      for (const c of page.data) await client().delete(`/consumers/${c.id}`)
    }
  }

  describe('/consumers', () => {
    describe('POST', () => {
      itContentTypes('creates a Consumer', (contentType) => async () => {
        const username = gensym()
        const res = await client().post('/consumers', {body: {username}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 201, res.text)
        assert.equal(res.json.username, username)
        assert.equal(typeof res.json.created_at, 'number')
        assert.equal(typeof res.json.id, 'string')
      })
      describe('errors', () => {
        itContentTypes('handles invalid input', (contentType) => async () => {
          const res = await client().post('/consumers', {body: {}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 400, res.text)
          assert.equal(res.json.name, 'schema violation')
          assert.deepEqual([].concat(res.json.fields['@entity']), ["at least one of these fields must be non-empty: 'custom_id', 'username'"])
        })
        itContentTypes('returns 409 on conflicting username', (contentType) => async () => {
          const consumer = await bp().consumers.insert()
          const res = await client().post('/consumers', {body: {username: consumer.username}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 409, res.text)
          assert.equal(res.json.name, 'unique constraint violation')
          assert.equal(res.json.message, `UNIQUE violation detected on '{username="${consumer.username}"}'`)
        })
        itContentTypes('returns 400 on conflicting custom_id', (contentType) => async () => {
          const consumer = await bp().consumers.insert()
          const res = await client().post('/consumers', {body: {username: 'tom', custom_id: consumer.custom_id}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 409, res.text)
          assert.equal(res.json.name, 'unique constraint violation')
          assert.equal(res.json.message, `UNIQUE violation detected on '{custom_id="${consumer.custom_id}"}'`)
        })
        it('returns 415 on invalid content-type', async () => {
          const res = await client().post('/consumers', {raw: '{"hello": "world"}', headers: {'Content-Type': 'invalid'}})
          assert.equal(res.status, 415, res.text)
        })
        it('returns 415 on missing content-type with body ', async () => {
          const res = await client().post('/consumers', {raw: 'invalid', headers: {}})
          assert.equal(res.status, 415, res.text)
        })
        it('returns 400 on missing body with application/json', async () => {
          const res = await client().post('/consumers', {headers: {'Content-Type': 'application/json'}})
          assert.equal(res.status, 400, res.text)
          assert.deepEqual(res.json, {message: 'Cannot parse JSON body'})
        })
        it('returns 400 on missing body with multipart/form-data', async () => {
          const res = await client().post('/consumers', {headers: {'Content-Type': 'multipart/form-data'}})
          assert.equal(res.status, 400, res.text)
          assert.equal(res.json.name, 'schema violation')
          assert.deepEqual([].concat(res.json.fields['@entity']), ["at least one of these fields must be non-empty: 'custom_id', 'username'"])
        })
        it('returns 400 on missing body with multipart/x-www-form-urlencoded', async () => {
          const res = await client().post('/consumers', {headers: {'Content-Type': 'application/x-www-form-urlencoded'}})
          assert.equal(res.status, 400, res.text)
          assert.equal(res.json.name, 'schema violation')
          assert.deepEqual([].concat(res.json.fields['@entity']), ["at least one of these fields must be non-empty: 'custom_id', 'username'"])
        })
        it('returns 400 on missing body with no content-type header', async () => {
          const res = await client().post('/consumers')
          assert.equal(res.status, 400, res.text)
          assert.equal(res.json.name, 'schema violation')
          assert.deepEqual([].concat(res.json.fields['@entity']), ["at least one of these fields must be non-empty: 'custom_id', 'username'"])
        })
      })
    })

    describe('GET', () => {
      beforeEach(async () => {
        await truncateConsumers()
        for (let i = 0; i < 10; i++) await bp().consumers.insert()
      })

      it('retrieves the first page', async () => {
        const res = await client().get('/consumers')
        assert.equal(res.status, 200)
        assert.equal(res.json.data.length, 10)
      })
      it('paginates a set', async () => {
        const pages: any[] = []
        let offset: string | undefined
        for (let i = 1; i <= 4; i++) {
          const res = await client().get('/consumers', {query: {size: 3, offset}})
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.data.length, i < 4 ? 3 : 1)
          if (i > 1) assert.notDeepEqual(res.json, pages[i - 2])
          offset = res.json.offset
          pages.push(res.json)
        }
      })
      it('not crashed by empty custom_id #KAG-867', async () => {
        let res = await client().get('/consumers?custom_id=')
        assert.equal(res.status, 400, res.text)
        assert.ok(res.json)
        res = await client().get('/consumers?custom_id')
        assert.equal(res.status, 400, res.text)
        assert.ok(res.json)
      })
      it('allows filtering by custom_id', async () => {
        const customId = gensym()
        const c = await bp().consumers.insert({custom_id: customId})
        const res = await client().get(`/consumers?custom_id=${escape(customId)}`)
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.data.length, 1)
        assert.deepEqual(res.json.data[0], c)
      })
      it('allows filtering by uuid-like custom_id', async () => {
        const customId = randomUUID()
        const c = await bp().consumers.insert({custom_id: customId})
        const res = await client().get(`/consumers?custom_id=${customId}`)
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.data.length, 1)
        assert.deepEqual(res.json.data[0], c)
      })
      it('returns empty json array when consumer does not exist', async () => {
        const res = await client().get('/consumers?custom_id=does-not-exist')
        assert.equal(res.status, 200)
        assert.match(res.text, /"data":\[\]/)
      })
      it('returns bad request for empty tags', async () => {
        // Kong's client sends `tags = ngx.null` as a bare `?tags`
        const res = await client().get('/consumers?tags')
        assert.equal(res.status, 400, res.text)
        assert.equal(res.json.message, 'invalid option (tags: cannot be null)')
      })
    })
    it('returns 405 on invalid method', async () => {
      for (const method of ['DELETE', 'PATCH']) {
        const res = await client().send(method, '/consumers', {body: {}, headers: {'Content-Type': 'application/json'}})
        assert.equal(res.status, 405)
        assert.deepEqual(res.json, {message: 'Method not allowed'})
      }
    })

    describe('/consumers/{consumer}', () => {
      describe('GET', () => {
        it('retrieves by id', async () => {
          const consumer = await bp().consumers.insert()
          const res = await client().get(`/consumers/${consumer.id}`)
          assert.equal(res.status, 200)
          assert.deepEqual(res.json, consumer)
        })
        it('retrieves by username', async () => {
          const consumer = await bp().consumers.insert()
          const res = await client().get(`/consumers/${consumer.username}`)
          assert.equal(res.status, 200)
          assert.deepEqual(res.json, consumer)
        })
        it('retrieves by urlencoded username', async () => {
          const consumer = await bp().consumers.insert()
          const res = await client().get(`/consumers/${escape(consumer.username)}`)
          assert.equal(res.status, 200)
          assert.deepEqual(res.json, consumer)
        })
        it('retrieves by utf-8 name and encoded utf-8 name', async () => {
          const consumer = await bp().consumers.insert({username: '円'})
          // fetch percent-encodes a raw UTF-8 path, so both spellings arrive encoded
          let res = await client().get(`/consumers/${consumer.username}`)
          assert.equal(res.status, 200)
          assert.deepEqual(res.json, consumer)
          res = await client().get(`/consumers/${escape(consumer.username)}`)
          assert.equal(res.status, 200)
          assert.deepEqual(res.json, consumer)
        })
        it('returns 404 if not found', async () => {
          const res = await client().get('/consumers/_inexistent_')
          assert.equal(res.status, 404)
        })
      })

      describe('PATCH', () => {
        itContentTypes('updates by id', (contentType) => async () => {
          const consumer = await bp().consumers.insert()
          const newUsername = gensym()
          // updated_at has a one-second resolution: the PATCH goes once the clock is past the insert's second
          await until('the clock past the second the consumer was created in', () => Date.now() / 1000 >= consumer.updated_at + 1)
          const res = await client().patch(`/consumers/${consumer.id}`, {body: {username: newUsername}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.username, newUsername)
          assert.equal(res.json.id, consumer.id)
          assert.ok(consumer.updated_at < res.json.updated_at)
          assert.deepEqual((await client().get(`/consumers/${consumer.id}`)).json, res.json)
        })
        itContentTypes('updates by username', (contentType) => async () => {
          const consumer = await bp().consumers.insert()
          const newUsername = gensym()
          const res = await client().patch(`/consumers/${consumer.username}`, {body: {username: newUsername}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.username, newUsername)
          assert.equal(res.json.id, consumer.id)
          assert.deepEqual((await client().get(`/consumers/${consumer.id}`)).json, res.json)
        })
        itContentTypes('updates by username and custom_id with previous values', (contentType) => async () => {
          const consumer = await bp().consumers.insert()
          const res = await client().patch(`/consumers/${consumer.username}`, {body: {username: consumer.username, custom_id: consumer.custom_id}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.username, consumer.username)
          assert.equal(res.json.custom_id, consumer.custom_id)
          assert.equal(res.json.id, consumer.id)
          assert.deepEqual((await client().get(`/consumers/${consumer.id}`)).json, res.json)
        })

        describe('errors', () => {
          itContentTypes('returns 404 if not found', (contentType) => async () => {
            const res = await client().patch('/consumers/_inexistent_', {body: {username: gensym()}, headers: {'Content-Type': contentType}})
            assert.equal(res.status, 404)
          })
          it('returns 415 on invalid content-type', async () => {
            const consumer = await bp().consumers.insert()
            const res = await client().patch(`/consumers/${consumer.id}`, {raw: '{"hello": "world"}', headers: {'Content-Type': 'invalid'}})
            assert.equal(res.status, 415)
          })
          it('returns 415 on missing content-type with body ', async () => {
            const consumer = await bp().consumers.insert()
            const res = await client().patch(`/consumers/${consumer.id}`, {raw: 'invalid', headers: {}})
            assert.equal(res.status, 415, res.text)
          })
          it('returns 400 on missing body with application/json', async () => {
            const consumer = await bp().consumers.insert()
            const res = await client().patch(`/consumers/${consumer.id}`, {headers: {'Content-Type': 'application/json'}})
            assert.equal(res.status, 400, res.text)
            assert.deepEqual(res.json, {message: 'Cannot parse JSON body'})
          })
        })
      })

      describe('PUT', () => {
        itContentTypes('creates if not exists', (contentType) => async () => {
          const customId = gensym()
          const id = randomUUID()
          const res = await client().put(`/consumers/${id}`, {body: {custom_id: customId}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.custom_id, customId)
          assert.equal(res.json.id, id)
        })
        itContentTypes('creates if not exists by username', (contentType) => async () => {
          const name = gensym()
          const res = await client().put(`/consumers/${escape(name)}`, {body: {}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.username, name)
          assert.equal(res.json.custom_id, null)
        })
        itContentTypes('replaces if found', (contentType) => async () => {
          const consumer = await bp().consumers.insert()
          const newUsername = gensym()
          const res = await client().put(`/consumers/${consumer.id}`, {body: {username: newUsername}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.username, newUsername)
          assert.deepEqual((await client().get(`/consumers/${consumer.id}`)).json, res.json)
        })
        itContentTypes('replaces if found by username', (contentType) => async () => {
          const consumer = await bp().consumers.insert()
          const newCustomId = gensym()
          let res = await client().put(`/consumers/${consumer.username}`, {body: {custom_id: newCustomId}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.username, consumer.username)
          assert.equal(res.json.custom_id, newCustomId)
          const id = res.json.id
          res = await client().put(`/consumers/${consumer.username}`, {body: {}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.id, id)
          assert.equal(res.json.username, consumer.username)
          assert.equal(res.json.custom_id, null)
        })

        describe('errors', () => {
          it('handles malformed JSON body', async () => {
            const consumer = await bp().consumers.insert()
            const res = await client().put(`/consumers/${consumer.id}`, {raw: '{"hello": "world"', headers: {'Content-Type': 'application/json'}})
            assert.equal(res.status, 400)
            assert.equal(res.text, '{"message":"Cannot parse JSON body"}')
          })
          itContentTypes('handles invalid input', (contentType) => async () => {
            const res = await client().put(`/consumers/${randomUUID()}`, {body: {}, headers: {'Content-Type': contentType}})
            assert.equal(res.status, 400, res.text)
            assert.deepEqual(res.json, {
              code: 2,
              name: 'schema violation',
              fields: {'@entity': ["at least one of these fields must be non-empty: 'custom_id', 'username'"]},
              message: "schema violation (at least one of these fields must be non-empty: 'custom_id', 'username')",
            })
          })
        })
      })

      describe('DELETE', () => {
        it('deletes by id', async () => {
          const consumer = await bp().consumers.insert()
          const res = await client().delete(`/consumers/${consumer.id}`)
          assert.equal(res.status, 204)
          assert.equal(res.text, '')
        })
        it('deletes by username', async () => {
          const consumer = await bp().consumers.insert()
          const res = await client().delete(`/consumers/${consumer.username}`)
          assert.equal(res.status, 204)
          assert.equal(res.text, '')
        })
      })
    })
  })

  describe('/consumers/{username_or_id}/plugins', () => {
    describe('POST', () => {
      const inputs: Record<string, Record<string, unknown>> = {
        'application/x-www-form-urlencoded': {name: 'request-termination', 'config.message': 'potato'},
        'application/json': {name: 'request-termination', config: {message: 'potato'}},
      }
      for (const [contentType, input] of Object.entries(inputs)) {
        it(`creates a plugin config using a consumer id with ${contentType}`, async () => {
          const consumer = await bp().consumers.insert()
          const res = await client().post(`/consumers/${consumer.id}/plugins`, {body: input, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 201, res.text)
          assert.equal(res.json.name, 'request-termination')
          assert.equal(res.json.config.message, 'potato')
        })
        it(`creates a plugin config using a consumer username with ${contentType}`, async () => {
          const consumer = await bp().consumers.insert()
          const res = await client().post(`/consumers/${consumer.username}/plugins`, {body: input, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 201, res.text)
          assert.equal(res.json.name, 'request-termination')
          assert.equal(res.json.config.message, 'potato')
        })
      }

      describe('errors', () => {
        itContentTypes('handles invalid input', (contentType) => async () => {
          const consumer = await bp().consumers.insert()
          const res = await client().post(`/consumers/${consumer.id}/plugins`, {body: {}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 400, res.text)
          assert.deepEqual(res.json, {code: 2, name: 'schema violation', fields: {name: 'required field missing'}, message: 'schema violation (name: required field missing)'})
        })
        itContentTypes('returns 409 on conflict', (contentType) => async () => {
          const consumer = await bp().consumers.insert()
          let res = await client().post(`/consumers/${consumer.id}/plugins`, {body: {name: 'request-termination'}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 201, res.text)
          assert.ok(res.json)
          res = await client().post(`/consumers/${consumer.id}/plugins`, {body: {name: 'request-termination'}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 409, res.text)
          assert.deepEqual(res.json, {
            code: 5,
            name: 'unique constraint violation',
            message: `UNIQUE violation detected on '{consumer={id="${consumer.id}"},name="request-termination",route=null,service=null}'`,
            fields: {name: 'request-termination', consumer: {id: consumer.id}, route: null, service: null},
          })
        })
      })
    })

    describe('GET', () => {
      it('retrieves the first page', async () => {
        const consumer = await bp().consumers.insert()
        await insertPlugin(consumer)
        const res = await client().get(`/consumers/${consumer.id}/plugins`)
        assert.equal(res.status, 200)
        assert.equal(res.json.data.length, 1)
      })
      it('ignores an invalid body', async () => {
        const consumer = await bp().consumers.insert()
        const res = await client().get(`/consumers/${consumer.id}/plugins`, {raw: 'this fails if decoded as json', headers: {'Content-Type': 'application/json'}})
        assert.equal(res.status, 200)
      })
    })
  })

  describe('/consumers/{username_or_id}/plugins/{plugin}', () => {
    describe('GET', () => {
      it('retrieves by id', async () => {
        const consumer = await bp().consumers.insert()
        const plugin = await insertPlugin(consumer)
        const res = await client().get(`/consumers/${consumer.id}/plugins/${plugin.id}`)
        assert.equal(res.status, 200)
        assert.deepEqual(res.json, plugin)
      })
      it('retrieves by consumer id when it has spaces', async () => {
        const consumer = await bp().consumers.insert()
        const plugin = await insertPlugin(consumer)
        const res = await client().get(`/consumers/${consumer.id}/plugins/${plugin.id}`)
        assert.equal(res.status, 200)
        assert.deepEqual(res.json, plugin)
      })
      it('only retrieves if associated to the correct consumer', async () => {
        const consumer = await bp().consumers.insert()
        const plugin = await insertPlugin(consumer)
        const wConsumer = await bp().consumers.insert({custom_id: 'wc', username: 'wrong-consumer'})
        const res = await client().get(`/consumers/${wConsumer.id}/plugins/${plugin.id}`)
        assert.equal(res.status, 404)
      })
      it('ignores an invalid body', async () => {
        const consumer = await bp().consumers.insert()
        const plugin = await insertPlugin(consumer)
        const res = await client().get(`/consumers/${consumer.id}/plugins/${plugin.id}`, {raw: 'this fails if decoded as json', headers: {'Content-Type': 'application/json'}})
        assert.equal(res.status, 200)
      })
    })

    describe('PATCH', () => {
      const inputs: Record<string, Record<string, unknown>> = {
        'application/x-www-form-urlencoded': {'config.message': 'updated'},
        'application/json': {config: {message: 'updated'}},
      }
      for (const [contentType, input] of Object.entries(inputs)) {
        it(`updates if found with ${contentType}`, async () => {
          const consumer = await bp().consumers.insert()
          const plugin = await insertPlugin(consumer)
          const res = await client().patch(`/consumers/${consumer.id}/plugins/${plugin.id}`, {body: input, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.config.message, 'updated')
          assert.equal(res.json.id, plugin.id)
          assert.deepEqual((await client().get(`/plugins/${plugin.id}`)).json, res.json)
        })
        it(`doesn't override a plugin config if partial with ${contentType}`, async () => {
          const consumer = await bp().consumers.insert()
          let plugin = await insertPlugin(consumer)
          plugin = (await client().patch(`/plugins/${plugin.id}`, {body: {config: {message: 'potato', status_code: 418}}})).json
          assert.equal(plugin.config.message, 'potato')
          assert.equal(plugin.config.status_code, 418)
          const res = await client().patch(`/consumers/${consumer.id}/plugins/${plugin.id}`, {body: input, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.config.message, 'updated')
          assert.equal(res.json.config.status_code, 418)
          plugin = (await client().get(`/plugins/${plugin.id}`)).json
          assert.equal(plugin.config.message, 'updated')
          assert.equal(plugin.config.status_code, 418)
        })
      }
      itContentTypes('updates the enabled property', (contentType) => async () => {
        const consumer = await bp().consumers.insert()
        const plugin = await insertPlugin(consumer)
        const res = await client().patch(`/consumers/${consumer.id}/plugins/${plugin.id}`, {body: {name: 'request-termination', enabled: false}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.enabled, false)
        assert.equal((await client().get(`/plugins/${plugin.id}`)).json.enabled, false)
      })
      describe('errors', () => {
        itContentTypes('returns 404 if not found', (contentType) => async () => {
          const consumer = await bp().consumers.insert()
          const res = await client().patch(`/consumers/${consumer.id}/plugins/b6cca0aa-4537-11e5-af97-23a06d98af51`, {body: {}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 404, res.text)
        })
        itContentTypes('handles invalid input', (contentType) => async () => {
          const consumer = await bp().consumers.insert()
          const plugin = await insertPlugin(consumer)
          const res = await client().patch(`/consumers/${consumer.id}/plugins/${plugin.id}`, {body: {name: 'foo'}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 400, res.text)
          assert.equal(res.json.name, 'schema violation')
          assert.equal(res.json.fields.name, "plugin 'foo' not enabled; add it to the 'plugins' configuration property")
        })
      })
    })

    describe('PUT', () => {
      const inputs: Record<string, Record<string, unknown>> = {
        'application/x-www-form-urlencoded': {name: 'request-termination', 'config.message': 'updated'},
        'application/json': {name: 'request-termination', config: {message: 'updated'}},
      }
      for (const [contentType, input] of Object.entries(inputs)) {
        it(`creates if not found with ${contentType}`, async () => {
          const consumer = await bp().consumers.insert()
          const pluginId = randomUUID()
          const res = await client().put(`/consumers/${consumer.id}/plugins/${pluginId}`, {body: input, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.config.message, 'updated')
          assert.equal(res.json.id, pluginId)
          assert.deepEqual((await client().get(`/plugins/${pluginId}`)).json, res.json)
        })
        it(`updates if found with ${contentType}`, async () => {
          const consumer = await bp().consumers.insert()
          const plugin = await insertPlugin(consumer)
          const res = await client().put(`/consumers/${consumer.id}/plugins/${plugin.id}`, {body: input, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.config.message, 'updated')
          assert.equal(res.json.id, plugin.id)
          assert.deepEqual((await client().get(`/plugins/${plugin.id}`)).json, res.json)
        })
      }
    })

    describe('DELETE', () => {
      it('deletes a plugin configuration', async () => {
        const consumer = await bp().consumers.insert()
        const plugin = await insertPlugin(consumer)
        const res = await client().delete(`/consumers/${consumer.id}/plugins/${plugin.id}`)
        assert.equal(res.status, 204)
      })
      describe('errors', () => {
        it('returns 404 if not found', async () => {
          const consumer = await bp().consumers.insert()
          const res = await client().delete(`/consumers/${consumer.id}/plugins/fafafafa-1234-baba-5678-cececececece`)
          assert.equal(res.status, 404)
        })
      })
    })
  })
})
