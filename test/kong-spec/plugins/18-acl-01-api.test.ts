/**
 * Kong's spec/03-plugins/18-acl/01-api_spec.lua (3.9), ported: the same describe/it titles
 * and assertions, against a real Admin API over Postgres. Kong runs it for each strategy;
 * this is `postgres`. Kong's `bp.acls` inserts are made through the Admin API, its
 * `db:truncate("acls")` in the node's database.
 */
import assert from 'node:assert/strict'
import {randomUUID} from 'node:crypto'
import {after, before, beforeEach, describe, test as it} from 'node:test'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from './kong-proxy.js'

const strategy = 'postgres'
const JSON_CT = {'Content-Type': 'application/json'}

describe(`Plugin: acl (API) [#${strategy}]`, () => {
  let node: PluginSpecNode
  let consumer: any
  before(async () => {
    node = await startPluginSpecNode()
  })
  after(() => node?.close())
  const client = () => node.admin
  const truncate = async () => {
    await node.pool.query('DELETE FROM acls')
  }
  /** Kong's `bp.acls:insert`: a group of its own unless given. */
  let seq = 0
  const insertAcl = (over: {group?: string; consumer: {id: string}}) => node.bp.credentials.insert('acls', over.consumer, {group: over.group ?? `group-${++seq}`})

  describe('/consumers/:consumer/acls/', () => {
    before(async () => {
      consumer = await node.bp.consumers.insert({username: 'bob'})
    })
    beforeEach(truncate)

    describe('POST', () => {
      it('creates an ACL association', async () => {
        const json = JSON.parse(resStatus(201, await client().post('/consumers/bob/acls', {body: {group: 'admin'}, headers: JSON_CT})))
        assert.equal(json.consumer.id, consumer.id)
        assert.equal(json.group, 'admin')
      })
      it('creates an ACL association with tags', async () => {
        const res = await client().send('POST', '/consumers/bob/acls/', {body: {group: 'yoloers', tags: ['tag1', 'tag2']}, headers: JSON_CT})
        const json = JSON.parse(resStatus(201, res))
        assert.equal(json.consumer.id, consumer.id)
        assert.equal(json.tags[0], 'tag1')
        assert.equal(json.tags[1], 'tag2')
      })
      describe('errors', () => {
        it('returns bad request', async () => {
          const json = JSON.parse(resStatus(400, await client().post('/consumers/bob/acls', {body: {}, headers: JSON_CT})))
          assert.deepEqual(json.fields, {group: 'required field missing'})
        })
      })
    })

    describe('GET', () => {
      after(truncate)
      it('retrieves the first page', async () => {
        for (let i = 0; i < 3; i++) await insertAcl({consumer: {id: consumer.id}})
        const json = JSON.parse(resStatus(200, await client().get('/consumers/bob/acls')))
        assert.ok(Array.isArray(json.data))
        assert.equal(json.data.length, 3)
      })
    })
  })

  describe('/consumers/:consumer/acls/:id', () => {
    let acl: any
    let acl2: any
    beforeEach(async () => {
      await truncate()
      acl = await insertAcl({group: 'hello', consumer: {id: consumer.id}})
      acl2 = await insertAcl({group: 'hello2', consumer: {id: consumer.id}})
    })
    describe('GET', () => {
      it('retrieves by id', async () => {
        const json = JSON.parse(resStatus(200, await client().get(`/consumers/bob/acls/${acl.id}`)))
        assert.equal(json.id, acl.id)
      })
      it('retrieves by group', async () => {
        const json = JSON.parse(resStatus(200, await client().get(`/consumers/bob/acls/${acl.group}`)))
        assert.equal(json.id, acl.id)
      })
      it('retrieves ACL by id only if the ACL belongs to the specified consumer', async () => {
        await node.bp.consumers.insert({username: 'alice'})
        resStatus(200, await client().get(`/consumers/bob/acls/${acl.id}`))
        resStatus(404, await client().get(`/consumers/alice/acls/${acl.id}`))
      })
      it('retrieves ACL by group only if the ACL belongs to the specified consumer', async () => {
        resStatus(200, await client().get(`/consumers/bob/acls/${acl.group}`))
        resStatus(404, await client().get(`/consumers/alice/acls/${acl.group}`))
      })
      it('retrieves right ACL by group when multiple consumers share the same group name created with POST', async () => {
        let res = await client().post('/consumers', {body: {username: 'anna'}, headers: JSON_CT})
        resStatus(201, res)
        assert.equal(typeof res.json, 'object')
        res = await client().post('/consumers', {body: {username: 'jack'}, headers: JSON_CT})
        resStatus(201, res)
        assert.equal(typeof res.json, 'object')
        const ag = JSON.parse(resStatus(201, await client().post('/consumers/anna/acls', {body: {group: 'foo'}, headers: JSON_CT})))
        const jg = JSON.parse(resStatus(201, await client().post('/consumers/jack/acls', {body: {group: 'foo'}, headers: JSON_CT})))
        const ag2 = JSON.parse(resStatus(200, await client().get('/consumers/anna/acls/foo')))
        const jg2 = JSON.parse(resStatus(200, await client().get('/consumers/jack/acls/foo')))
        assert.deepEqual(ag2, ag)
        assert.deepEqual(jg2, jg)
        assert.notDeepEqual(ag, jg)
        assert.notDeepEqual(ag2, jg2)
        assert.notDeepEqual(ag2, jg)
        assert.notDeepEqual(ag, jg2)
        resStatus(204, await client().delete('/consumers/anna'))
        resStatus(204, await client().delete('/consumers/jack'))
      })
      it('retrieves right ACL by group when multiple consumers share the same group name created with PUT', async () => {
        let res = await client().put('/consumers/anna')
        resStatus(200, res)
        assert.equal(typeof res.json, 'object')
        res = await client().put('/consumers/jack')
        resStatus(200, res)
        assert.equal(typeof res.json, 'object')
        const ag = JSON.parse(resStatus(200, await client().put('/consumers/anna/acls/foo')))
        const jg = JSON.parse(resStatus(200, await client().put('/consumers/jack/acls/foo')))
        const ag2 = JSON.parse(resStatus(200, await client().get('/consumers/anna/acls/foo')))
        const jg2 = JSON.parse(resStatus(200, await client().get('/consumers/jack/acls/foo')))
        assert.deepEqual(ag2, ag)
        assert.deepEqual(jg2, jg)
        assert.notDeepEqual(ag, jg)
        assert.notDeepEqual(ag2, jg2)
        assert.notDeepEqual(ag2, jg)
        assert.notDeepEqual(ag, jg2)
        resStatus(204, await client().delete('/consumers/anna'))
        resStatus(204, await client().delete('/consumers/jack'))
      })
    })

    describe('PUT', () => {
      it("upserts an ACL's groupname", async () => {
        const json = JSON.parse(resStatus(200, await client().put('/consumers/bob/acls/pro', {body: {}, headers: JSON_CT})))
        assert.equal(json.consumer.id, consumer.id)
        assert.equal(json.group, 'pro')
      })
      describe('errors', () => {
        it('returns bad request', async () => {
          const res = await client().put('/consumers/bob/acls/f7852533-9160-4f5a-ae12-1ab99219ea95', {body: {group: 123}, headers: JSON_CT})
          const json = JSON.parse(resStatus(400, res))
          assert.deepEqual(json.fields, {group: 'expected a string'})
        })
      })
    })

    describe('PATCH', () => {
      it('updates an ACL group by id', async () => {
        const previousGroup = acl.group
        const json = JSON.parse(resStatus(200, await client().patch(`/consumers/bob/acls/${acl.id}`, {body: {group: 'updatedGroup'}, headers: JSON_CT})))
        assert.notEqual(json.group, previousGroup)
      })
      it('updates an ACL group by group', async () => {
        const previousGroup = acl.group
        const json = JSON.parse(resStatus(200, await client().patch(`/consumers/bob/acls/${acl.group}`, {body: {group: 'updatedGroup2'}, headers: JSON_CT})))
        assert.notEqual(json.group, previousGroup)
      })
      describe('errors', () => {
        it('handles invalid input', async () => {
          const json = JSON.parse(resStatus(400, await client().patch(`/consumers/bob/acls/${acl.id}`, {body: {group: 123}, headers: JSON_CT})))
          assert.deepEqual(json.fields, {group: 'expected a string'})
        })
      })
    })

    describe('DELETE', () => {
      it('deletes an ACL group by id', async () => {
        resStatus(204, await client().delete(`/consumers/bob/acls/${acl.id}`))
      })
      it('deletes an ACL group by group', async () => {
        resStatus(204, await client().delete(`/consumers/bob/acls/${acl2.group}`))
      })
      describe('errors', () => {
        it('returns 404 on missing group', async () => {
          resStatus(404, await client().delete('/consumers/bob/acls/blah'))
        })
        it('returns 404 if not found', async () => {
          resStatus(404, await client().delete('/consumers/bob/acls/00000000-0000-0000-0000-000000000000'))
        })
      })
    })
  })

  describe('/acls', () => {
    describe('GET', () => {
      before(async () => {
        await truncate()
        for (let i = 1; i <= 3; i++) await insertAcl({group: `group${i}`, consumer: {id: consumer.id}})
        const consumer2 = await node.bp.consumers.insert({username: 'bob-the-buidler'})
        for (let i = 1; i <= 3; i++) await insertAcl({group: `group${i}`, consumer: {id: consumer2.id}})
      })
      it('retrieves all the acls with trailing slash', async () => {
        const json = JSON.parse(resStatus(200, await client().get('/acls/')))
        assert.ok(Array.isArray(json.data))
        assert.equal(json.data.length, 6)
      })
      it('retrieves all the acls without trailing slash', async () => {
        const json = JSON.parse(resStatus(200, await client().get('/acls')))
        assert.ok(Array.isArray(json.data))
        assert.equal(json.data.length, 6)
      })
      it('paginates through the acls', async () => {
        const json1 = JSON.parse(resStatus(200, await client().get('/acls?size=3')))
        assert.ok(Array.isArray(json1.data))
        assert.equal(json1.data.length, 3)
        const json2 = JSON.parse(resStatus(200, await client().get('/acls', {query: {size: 3, offset: json1.offset}})))
        assert.ok(Array.isArray(json2.data))
        assert.equal(json2.data.length, 3)
        assert.notDeepEqual(json2.data, json1.data)
        assert.equal(json2.offset ?? null, null) // last page
      })
    })

    describe('POST', () => {
      before(truncate)
      it('does not create acl when missing consumer', async () => {
        const json = JSON.parse(resStatus(400, await client().post('/acls', {body: {group: 'test-group'}, headers: JSON_CT})))
        assert.equal(json.message, 'schema violation (consumer: required field missing)')
      })
      it('creates acl', async () => {
        const json = JSON.parse(resStatus(201, await client().post('/acls', {body: {group: 'test-group', consumer: {id: consumer.id}}, headers: JSON_CT})))
        assert.equal(json.group, 'test-group')
      })
    })
  })

  describe('/acls/:group_or_id', () => {
    describe('PUT', () => {
      before(truncate)
      it('does not create acl when missing consumer', async () => {
        const json = JSON.parse(resStatus(400, await client().put(`/acls/${randomUUID()}`, {body: {group: 'test-group'}, headers: JSON_CT})))
        assert.equal(json.message, 'schema violation (consumer: required field missing)')
      })
      it('creates acl', async () => {
        const json = JSON.parse(resStatus(200, await client().put(`/acls/${randomUUID()}`, {body: {group: 'test-group', consumer: {id: consumer.id}}, headers: JSON_CT})))
        assert.equal(json.group, 'test-group')
      })
    })
  })

  describe('/acls/:acl_id/consumer', () => {
    describe('GET', () => {
      let credential: any
      before(async () => {
        await truncate()
        credential = await insertAcl({group: 'foo-group', consumer: {id: consumer.id}})
      })
      it("retrieves a Consumer from an acl's id", async () => {
        const json = JSON.parse(resStatus(200, await client().get(`/acls/${credential.id}/consumer`)))
        // Kong's `consumer` is the row as inserted with `{nulls = true}`: every field
        assert.deepEqual(json, consumer)
      })
    })
  })
})
