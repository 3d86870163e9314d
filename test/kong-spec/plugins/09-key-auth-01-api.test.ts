/**
 * Kong's spec/03-plugins/09-key-auth/01-api_spec.lua (3.9): so far its `#ttl` cases,
 * against a real Admin API over Postgres (an expired key is gone from the Admin API, a
 * live one shows its ttl) and the rest of the file. Kong inserts with `{ttl = 10}` (a DAO
 * option); through the Admin API that is the `ttl` field. Kong's `bp.keyauth_credentials`
 * inserts are made through the Admin API.
 */
import assert from 'node:assert/strict'
import {after, before, beforeEach, describe, test as it} from 'node:test'
import {until} from '../../helpers/until.js'
import {randomUUID} from 'node:crypto'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from './kong-proxy.js'

const strategy = 'postgres'
const JSON_CT = {'Content-Type': 'application/json'}
/** Kong's `random_string()`: 32 hex characters. */
const randomString = () => randomUUID().replace(/-/g, '')

describe(`Plugin: key-auth (API) [#${strategy}]`, () => {
  let node: PluginSpecNode
  let consumer: any
  let route1: any
  let route2: any
  before(async () => {
    node = await startPluginSpecNode()
    route1 = await node.bp.routes.insert({hosts: ['keyauth1.test']})
    route2 = await node.bp.routes.insert({hosts: ['keyauth2.test']})
    consumer = await node.bp.consumers.insert({username: 'bob'})
  })
  after(() => node?.close())
  const client = () => node.admin
  const truncate = async () => {
    // Kong's db:truncate("keyauth_credentials"), expired rows included
    await node.pool.query('DELETE FROM keyauth_credentials')
  }
  /** Kong's `bp.keyauth_credentials:insert`. */
  const insertCredential = (consumerId: string, over: Record<string, unknown> = {}) => node.bp.credentials.insert('key-auth', {id: consumerId}, over)

  describe('/consumers/:consumer/key-auth', () => {
    describe('POST', () => {
      after(truncate)
      it('creates a key-auth credential with key', async () => {
        const json = JSON.parse(resStatus(201, await client().post('/consumers/bob/key-auth', {body: {key: '1234'}, headers: JSON_CT})))
        assert.equal(json.consumer.id, consumer.id)
        assert.equal(json.key, '1234')
        await truncate()
      })
      it('creates a key-auth auto-generating a unique key', async () => {
        let json = JSON.parse(resStatus(201, await client().post('/consumers/bob/key-auth', {body: {}, headers: JSON_CT})))
        assert.equal(json.consumer.id, consumer.id)
        assert.equal(typeof json.key, 'string')
        const firstKey = json.key
        await truncate()
        json = JSON.parse(resStatus(201, await client().post('/consumers/bob/key-auth', {body: {}, headers: JSON_CT})))
        assert.equal(json.consumer.id, consumer.id)
        assert.equal(typeof json.key, 'string')
        assert.notEqual(json.key, firstKey)
        await truncate()
      })
      it('creates a key-auth credential with tags', async () => {
        const json = JSON.parse(resStatus(201, await client().post('/consumers/bob/key-auth', {body: {key: 'keyauth-with-tags', tags: ['tag1', 'tag2']}, headers: JSON_CT})))
        assert.equal(json.consumer.id, consumer.id)
        assert.equal(json.tags[0], 'tag1')
        assert.equal(json.tags[1], 'tag2')
        await truncate()
      })
      it('creates a key-auth credential with a ttl', async () => {
        const res = await client().post('/consumers/bob/key-auth', {body: {ttl: 1}, headers: {'Content-Type': 'application/json'}})
        const json = JSON.parse(resStatus(201, res))
        assert.equal(json.consumer.id, consumer.id)
        assert.equal(typeof json.key, 'string')
        // Kong sleeps 3 s; waiting for the 404 is the same check without the fixed sleep
        await until('the credential to expire', async () => (await client().get(`/consumers/bob/key-auth/${json.id}`)).status === 404, {timeoutMs: 10_000})
        resStatus(404, await client().get(`/consumers/bob/key-auth/${json.id}`))
        // not in Kong's file: gone from the lists too, and its key no longer finds it
        const list = JSON.parse(resStatus(200, await client().get('/consumers/bob/key-auth')))
        assert.ok(!list.data.some((c: any) => c.id === json.id))
        resStatus(404, await client().get(`/key-auths/${json.key}`))
        await truncate()
      })
    })

    describe('GET', () => {
      before(async () => {
        for (let i = 0; i < 3; i++) await insertCredential(consumer.id)
      })
      after(truncate)
      it('retrieves the first page', async () => {
        const json = JSON.parse(resStatus(200, await client().get('/consumers/bob/key-auth')))
        assert.ok(Array.isArray(json.data))
        assert.equal(json.data.length, 3)
      })
    })

    describe('GET #ttl', () => {
      before(async () => {
        for (let i = 0; i < 3; i++) resStatus(201, await client().post(`/consumers/${consumer.id}/key-auth`, {body: {ttl: 10}}))
      })
      after(truncate)
      it('entries contain ttl when specified', async () => {
        const json = JSON.parse(resStatus(200, await client().get('/consumers/bob/key-auth')))
        assert.equal(json.data.length, 3)
        for (const credential of json.data) assert.notEqual(credential.ttl, null)
      })
    })
  })

  describe('/consumers/:consumer/key-auth/:id', () => {
    let credential: any
    beforeEach(async () => {
      await truncate()
      credential = await insertCredential(consumer.id)
    })
    after(truncate)
    describe('GET', () => {
      it('retrieves key-auth credential by id', async () => {
        const json = JSON.parse(resStatus(200, await client().get(`/consumers/bob/key-auth/${credential.id}`)))
        assert.equal(json.id, credential.id)
      })
      it('retrieves key-auth credential by key', async () => {
        const json = JSON.parse(resStatus(200, await client().get(`/consumers/bob/key-auth/${credential.key}`)))
        assert.equal(json.id, credential.id)
      })
      it('retrieves credential by id only if the credential belongs to the specified consumer', async () => {
        await node.bp.consumers.insert({username: 'alice'})
        resStatus(200, await client().get(`/consumers/bob/key-auth/${credential.id}`))
        resStatus(404, await client().get(`/consumers/alice/key-auth/${credential.id}`))
      })
      it('key-auth credential contains #ttl', async () => {
        const credential = JSON.parse(resStatus(201, await client().post(`/consumers/${consumer.id}/key-auth`, {body: {ttl: 10}})))
        const json = JSON.parse(resStatus(200, await client().get(`/consumers/bob/key-auth/${credential.id}`)))
        assert.equal(json.id, credential.id)
        assert.notEqual(json.ttl, null)
        await truncate()
      })
    })
    describe('PUT', () => {
      it('creates a key-auth credential with key', async () => {
        await truncate()
        const json = JSON.parse(resStatus(200, await client().put('/consumers/bob/key-auth/1234', {body: {}, headers: JSON_CT})))
        assert.equal(json.consumer.id, consumer.id)
        assert.equal(json.key, '1234')
      })
      it('creates a key-auth credential auto-generating the key', async () => {
        await truncate()
        const json = JSON.parse(resStatus(200, await client().put('/consumers/bob/key-auth/c16bbff7-5d0d-4a28-8127-1ee581898f11', {body: {}, headers: JSON_CT})))
        assert.equal(json.consumer.id, consumer.id)
        assert.equal(typeof json.key, 'string')
      })
    })
    describe('PATCH', () => {
      it('updates a credential by id', async () => {
        const json = JSON.parse(resStatus(200, await client().patch(`/consumers/bob/key-auth/${credential.id}`, {body: {key: '4321'}, headers: JSON_CT})))
        assert.equal(json.key, '4321')
      })
      it('updates a credential by key', async () => {
        const json = JSON.parse(resStatus(200, await client().patch(`/consumers/bob/key-auth/${credential.key}`, {body: {key: '4321UPD'}, headers: JSON_CT})))
        assert.equal(json.key, '4321UPD')
      })
      describe('errors', () => {
        it('handles invalid input', async () => {
          const json = JSON.parse(resStatus(400, await client().patch(`/consumers/bob/key-auth/${credential.id}`, {body: {key: 123}, headers: JSON_CT})))
          assert.deepEqual(json.fields, {key: 'expected a string'})
        })
      })
    })
    describe('DELETE', () => {
      it('deletes a credential', async () => {
        resStatus(204, await client().delete(`/consumers/bob/key-auth/${credential.id}`))
      })
      describe('errors', () => {
        it('returns 400 on invalid input', async () => {
          resStatus(404, await client().delete('/consumers/bob/key-auth/blah'))
        })
        it('returns 404 if not found', async () => {
          resStatus(404, await client().delete('/consumers/bob/key-auth/00000000-0000-0000-0000-000000000000'))
        })
      })
    })
  })

  describe('/plugins for route', () => {
    it('fails with invalid key_names', async () => {
      const keyName = 'hello\\world'
      const res = await client().post('/plugins', {body: {name: 'key-auth', route: {id: route1.id}, config: {key_names: [keyName]}}, headers: JSON_CT})
      const body = JSON.parse(resStatus(400, res))
      assert.equal(body.fields.config.key_names[0], "bad header name 'hello\\world', allowed characters are A-Z, a-z, 0-9, '_', and '-'")
    })
    it('succeeds with valid key_names', async () => {
      const keyName = 'hello-world'
      const res = await client().post('/plugins', {body: {route: {id: route2.id}, name: 'key-auth', config: {key_names: [keyName]}}, headers: JSON_CT})
      const body = JSON.parse(resStatus(201, res))
      assert.equal(body.config.key_names[0], keyName)
    })
  })

  describe('/key-auths', () => {
    describe('GET', () => {
      before(async () => {
        await truncate()
        for (let i = 0; i < 3; i++) await insertCredential(consumer.id)
        const consumer2 = await node.bp.consumers.insert({username: 'bob-the-buidler'})
        for (let i = 0; i < 3; i++) await insertCredential(consumer2.id)
      })
      it('retrieves all the key-auths with trailing slash', async () => {
        const json = JSON.parse(resStatus(200, await client().get('/key-auths/')))
        assert.ok(Array.isArray(json.data))
        assert.equal(json.data.length, 6)
      })
      it('retrieves all the key-auths without trailing slash', async () => {
        const json = JSON.parse(resStatus(200, await client().get('/key-auths')))
        assert.ok(Array.isArray(json.data))
        assert.equal(json.data.length, 6)
      })
      it('paginates through the key-auths', async () => {
        const json1 = JSON.parse(resStatus(200, await client().get('/key-auths?size=3')))
        assert.ok(Array.isArray(json1.data))
        assert.equal(json1.data.length, 3)
        const json2 = JSON.parse(resStatus(200, await client().get('/key-auths', {query: {size: 3, offset: json1.offset}})))
        assert.ok(Array.isArray(json2.data))
        assert.equal(json2.data.length, 3)
        assert.notDeepEqual(json2.data, json1.data)
        assert.equal(json2.offset, undefined) // last page
      })
    })
    describe('POST', () => {
      before(truncate)
      it('does not create key-auth credential when missing consumer', async () => {
        const json = JSON.parse(resStatus(400, await client().post('/key-auths', {body: {key: '1234'}, headers: JSON_CT})))
        assert.equal(json.message, 'schema violation (consumer: required field missing)')
      })
      it('creates key-auth credential', async () => {
        const json = JSON.parse(resStatus(201, await client().post('/key-auths', {body: {key: '1234', consumer: {id: consumer.id}}, headers: JSON_CT})))
        assert.equal(json.key, '1234')
      })
    })
  })

  describe('/key-auths/:credential_key_or_id', () => {
    describe('PUT', () => {
      before(truncate)
      it('does not create key-auth credential when missing consumer', async () => {
        const json = JSON.parse(resStatus(400, await client().put('/key-auths/1234', {body: {}, headers: JSON_CT})))
        assert.equal(json.message, 'schema violation (consumer: required field missing)')
      })
      it('creates key-auth credential', async () => {
        const json = JSON.parse(resStatus(200, await client().put('/key-auths/1234', {body: {consumer: {id: consumer.id}}, headers: JSON_CT})))
        assert.equal(json.key, '1234')
      })
    })
  })

  describe('/key-auths/:credential_key_or_id/consumer', () => {
    describe('GET', () => {
      let credential: any
      before(async () => {
        await truncate()
        credential = await insertCredential(consumer.id)
      })
      it("retrieve Consumer from a credential's id", async () => {
        const json = JSON.parse(resStatus(200, await client().get(`/key-auths/${credential.id}/consumer`)))
        assert.deepEqual(json, consumer)
      })
      it("retrieve a Consumer from a credential's key", async () => {
        const json = JSON.parse(resStatus(200, await client().get(`/key-auths/${credential.key}/consumer`)))
        assert.deepEqual(json, consumer)
      })
      it('returns 404 for a random non-existing id', async () => {
        resStatus(404, await client().get(`/key-auths/${randomUUID()}/consumer`))
      })
      it('returns 404 for a random non-existing key', async () => {
        resStatus(404, await client().get(`/key-auths/${randomString()}/consumer`))
      })
    })
  })
})
