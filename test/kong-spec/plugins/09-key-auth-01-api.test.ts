/**
 * Kong's spec/03-plugins/09-key-auth/01-api_spec.lua (3.9): so far its `#ttl` cases,
 * against a real Admin API over Postgres (an expired key is gone from the Admin API, a
 * live one shows its ttl). Kong inserts with `{ttl = 10}` (a DAO option); through the
 * Admin API that is the `ttl` field. The other cases are listed as not yet ported.
 */
import assert from 'node:assert/strict'
import {after, before, describe, test as it} from 'node:test'
import {until} from '../../helpers/until.js'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from './kong-proxy.js'

const strategy = 'postgres'
const notYet = {todo: 'not ported yet'}

describe(`Plugin: key-auth (API) [#${strategy}]`, () => {
  let node: PluginSpecNode
  let consumer: any
  before(async () => {
    node = await startPluginSpecNode()
    consumer = await node.bp.consumers.insert({username: 'bob'})
  })
  after(() => node?.close())
  const client = () => node.admin
  const truncate = async () => {
    // Kong's db:truncate("keyauth_credentials"), expired rows included
    await node.pool.query('DELETE FROM keyauth_credentials')
  }

  describe('/consumers/:consumer/key-auth', () => {
    describe('POST', () => {
      it('creates a key-auth credential with key', notYet)
      it('creates a key-auth auto-generating a unique key', notYet)
      it('creates a key-auth credential with tags', notYet)
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
      it('retrieves the first page', notYet)
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
    describe('GET', () => {
      it('retrieves key-auth credential by id', notYet)
      it('retrieves key-auth credential by key', notYet)
      it('retrieves credential by id only if the credential belongs to the specified consumer', notYet)
      it('key-auth credential contains #ttl', async () => {
        const credential = JSON.parse(resStatus(201, await client().post(`/consumers/${consumer.id}/key-auth`, {body: {ttl: 10}})))
        const json = JSON.parse(resStatus(200, await client().get(`/consumers/bob/key-auth/${credential.id}`)))
        assert.equal(json.id, credential.id)
        assert.notEqual(json.ttl, null)
        await truncate()
      })
    })
    describe('PUT', () => {
      it('creates a key-auth credential with key', notYet)
      it('creates a key-auth credential auto-generating the key', notYet)
    })
    describe('PATCH', () => {
      it('updates a credential by id', notYet)
      it('updates a credential by key', notYet)
      describe('errors', () => {
        it('handles invalid input', notYet)
      })
    })
    describe('DELETE', () => {
      it('deletes a credential', notYet)
      describe('errors', () => {
        it('returns 400 on invalid input', notYet)
        it('returns 404 if not found', notYet)
      })
    })
  })

  describe('/plugins for route', () => {
    it('fails with invalid key_names', notYet)
    it('succeeds with valid key_names', notYet)
  })

  describe('/key-auths', () => {
    describe('GET', () => {
      it('retrieves all the key-auths with trailing slash', notYet)
      it('retrieves all the key-auths without trailing slash', notYet)
      it('paginates through the key-auths', notYet)
    })
    describe('POST', () => {
      it('does not create key-auth credential when missing consumer', notYet)
      it('creates key-auth credential', notYet)
    })
  })

  describe('/key-auths/:credential_key_or_id', () => {
    describe('PUT', () => {
      it('does not create key-auth credential when missing consumer', notYet)
      it('creates key-auth credential', notYet)
    })
  })

  describe("/key-auths/:credential_key_or_id/consumer", () => {
    describe('GET', () => {
      it("retrieve Consumer from a credential's id", notYet)
      it("retrieve a Consumer from a credential's key", notYet)
      it('returns 404 for a random non-existing id', notYet)
      it('returns 404 for a random non-existing key', notYet)
    })
  })
})
