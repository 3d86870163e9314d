/**
 * Kong's spec/02-integration/04-admin_api/07-upstreams_routes_spec.lua (3.9), ported: the
 * same describe/it titles and assertions, against a real Admin API over Postgres; the
 * #regression block also against a real `database = off` node (its upstreams loaded with
 * `POST /config`), as Kong runs it for every strategy.
 */
import assert from 'node:assert/strict'
import {after, before, beforeEach, describe, test as it} from 'node:test'
import {itContentTypes, startSpecNode, type KongClient, type SpecNode} from './kong-client.js'
import {startOffNode} from './off-node.js'

const SLOTS_DEFAULT = 10000
const SLOTS_MAX = 2 ** 16

const BAD_HEADER = "bad header name 'not a <> valid <> header name', allowed characters are A-Z, a-z, 0-9, '_', and '-'"
const BAD_COOKIE = 'contains one or more invalid characters. ASCII control characters (0-31;127), space, tab and the characters ()<>@,;:\\"/?={}[] are not allowed.'

describe('Admin API: #postgres', () => {
  let node: SpecNode
  before(async () => {
    node = await startSpecNode()
  })
  after(() => node?.close())
  const client = () => node.client
  const truncateUpstreams = async () => {
    for (;;) {
      const page = (await client().get('/upstreams', {query: {size: 1000}})).json
      if (!page.data.length) return
      for (const u of page.data) await client().delete(`/upstreams/${u.id}`)
    }
  }

  describe('/upstreams #postgres', () => {
    describe('POST', () => {
      beforeEach(truncateUpstreams)
      const post = (contentType: string, body: Record<string, unknown>) => client().post('/upstreams', {body, headers: {'Content-Type': contentType}})
      const created = (res: {status: number; text: string; json: any}) => {
        assert.equal(res.status, 201, res.text)
        assert.equal(res.json.name, 'my.upstream')
        assert.equal(typeof res.json.created_at, 'number')
        assert.equal(typeof res.json.id, 'string')
        return res.json
      }
      itContentTypes('creates an upstream with defaults', (contentType) => async () => {
        const json = created(await post(contentType, {name: 'my.upstream'}))
        assert.equal(json.slots, SLOTS_DEFAULT)
        assert.equal(json.hash_on, 'none')
        assert.equal(json.hash_fallback, 'none')
        assert.equal(json.hash_on_header, null)
        assert.equal(json.hash_fallback_header, null)
      })
      itContentTypes('creates an upstream without defaults', (contentType) => async () => {
        const json = created(await post(contentType, {name: 'my.upstream', slots: 10, hash_on: 'consumer', hash_fallback: 'ip', hash_on_header: 'HeaderName', hash_fallback_header: 'HeaderFallback'}))
        assert.equal(json.slots, 10)
        assert.equal(json.hash_on, 'consumer')
        assert.equal(json.hash_fallback, 'ip')
        assert.equal(json.hash_on_header, 'HeaderName')
        assert.equal(json.hash_fallback_header, 'HeaderFallback')
      })
      itContentTypes('creates an upstream with hash_on cookie parameters', (contentType) => async () => {
        const json = created(await post(contentType, {name: 'my.upstream', hash_on: 'cookie', hash_on_cookie: 'CookieName1', hash_on_cookie_path: '/foo'}))
        assert.equal(json.hash_on, 'cookie')
        assert.equal(json.hash_on_cookie, 'CookieName1')
        assert.equal(json.hash_on_cookie_path, '/foo')
      })
      itContentTypes('creates an upstream with 2 header hashes', (contentType) => async () => {
        const json = created(await post(contentType, {name: 'my.upstream', slots: 10, hash_on: 'header', hash_fallback: 'header', hash_on_header: 'HeaderName1', hash_fallback_header: 'HeaderName2'}))
        assert.equal(json.slots, 10)
        assert.equal(json.hash_on, 'header')
        assert.equal(json.hash_fallback, 'header')
        assert.equal(json.hash_on_header, 'HeaderName1')
        assert.equal(json.hash_fallback_header, 'HeaderName2')
      })
      itContentTypes(`creates an upstream with ${SLOTS_MAX} slots`, (contentType) => async () => {
        const json = created(await post(contentType, {name: 'my.upstream', slots: SLOTS_MAX}))
        assert.equal(json.slots, SLOTS_MAX)
      })
      itContentTypes('creates an upstream with host header', (contentType) => async () => {
        const json = created(await post(contentType, {name: 'my.upstream', host_header: 'localhost'}))
        assert.equal(json.slots, SLOTS_DEFAULT)
        assert.equal(json.hash_on, 'none')
        assert.equal(json.hash_fallback, 'none')
        assert.equal(json.hash_on_header, null)
        assert.equal(json.hash_fallback_header, null)
        assert.equal(json.host_header, 'localhost')
      })
      describe('errors', () => {
        it('handles malformed JSON body', async () => {
          const res = await client().post('/upstreams', {raw: '{"hello": "world"', headers: {'Content-Type': 'application/json'}})
          assert.equal(res.status, 400)
          assert.equal(res.text, '{"message":"Cannot parse JSON body"}')
        })
        itContentTypes('handles invalid input', (contentType) => async () => {
          const post = (body: Record<string, unknown>) => client().post('/upstreams', {body, headers: {'Content-Type': contentType}})
          // Missing parameter
          let res = await post({slots: 50})
          assert.equal(res.status, 400)
          assert.equal(res.json.name, 'schema violation')
          assert.deepEqual(res.json.fields, {name: 'required field missing'})
          // Invalid name parameter
          res = await post({name: 'some invalid host name'})
          assert.equal(res.status, 400)
          assert.equal(res.json.name, 'schema violation')
          assert.deepEqual(res.json.fields, {name: "Invalid name ('some invalid host name'); must be a valid hostname"})
          // Invalid slots parameter
          res = await post({name: 'my.upstream', slots: 2 ** 16 + 1})
          assert.equal(res.status, 400)
          assert.equal(res.json.name, 'schema violation')
          assert.deepEqual(res.json.fields, {slots: 'value should be between 10 and 65536'})
          // Invalid hash_on entries
          res = await post({name: 'my.upstream', hash_on: 'something that is invalid'})
          assert.equal(res.status, 400)
          assert.equal(res.json.name, 'schema violation')
          assert.deepEqual(res.json.fields, {hash_on: 'expected one of: none, consumer, ip, header, cookie, path, query_arg, uri_capture'})
          // Invalid hash_fallback entries
          res = await post({name: 'my.upstream', hash_on: 'consumer', hash_fallback: 'something that is invalid'})
          assert.equal(res.status, 400)
          assert.equal(res.json.name, 'schema violation')
          assert.deepEqual(res.json.fields, {'@entity': ["failed conditional validation given value of field 'hash_on'"], hash_fallback: 'expected one of: none, ip, header, cookie, path, query_arg, uri_capture'})
          // same hash entities
          res = await post({name: 'my.upstream', hash_on: 'consumer', hash_fallback: 'consumer'})
          assert.equal(res.status, 400)
          assert.equal(res.json.name, 'schema violation')
          assert.deepEqual(res.json.fields, {'@entity': ["failed conditional validation given value of field 'hash_on'"], hash_fallback: 'expected one of: none, ip, header, cookie, path, query_arg, uri_capture'})
          // Invalid header
          res = await post({name: 'my.upstream', hash_on: 'header', hash_fallback: 'consumer', hash_on_header: 'not a <> valid <> header name'})
          assert.equal(res.status, 400)
          assert.equal(res.json.fields.hash_on_header, BAD_HEADER)
          // Invalid fallback header
          res = await post({name: 'my.upstream', hash_on: 'consumer', hash_fallback: 'header', hash_fallback_header: 'not a <> valid <> header name'})
          assert.equal(res.status, 400)
          assert.equal(res.json.fields.hash_fallback_header, BAD_HEADER)
          // Same headers
          res = await post({name: 'my.upstream', hash_on: 'header', hash_fallback: 'header', hash_on_header: 'headername', hash_fallback_header: 'headername'})
          assert.equal(res.status, 400)
          assert.equal(res.json.name, 'schema violation')
          assert.deepEqual(res.json.fields, {'@entity': ["values of these fields must be distinct: 'hash_on_header', 'hash_fallback_header'"]})
          // Cookie with hash_fallback
          res = await post({name: 'my.upstream', hash_on: 'cookie', hash_on_cookie: 'cookiename', hash_fallback: 'header', hash_fallback_header: 'Cool-Header'})
          assert.equal(res.status, 400)
          assert.equal(res.json.name, 'schema violation')
          assert.deepEqual(res.json.fields, {'@entity': ["failed conditional validation given value of field 'hash_on'"], hash_fallback: 'expected one of: none'})
          // No headername provided
          res = await post({name: 'my.upstream', hash_on: 'header', hash_fallback: 'header', hash_fallback_header: 'HeaderName'})
          assert.equal(res.status, 400)
          assert.equal(res.json.name, 'schema violation')
          assert.deepEqual(res.json.fields, {'@entity': ["failed conditional validation given value of field 'hash_on'"], hash_on_header: 'required field missing'})
          // No fallback headername provided
          res = await post({name: 'my.upstream', hash_on: 'consumer', hash_fallback: 'header'})
          assert.equal(res.status, 400)
          assert.equal(res.json.name, 'schema violation')
          assert.deepEqual(res.json.fields, {'@entity': ["failed conditional validation given value of field 'hash_fallback'"], hash_fallback_header: 'required field missing'})
          // Invalid cookie
          res = await post({name: 'my.upstream', hash_on: 'cookie', hash_on_cookie: 'not a <> valid <> cookie name'})
          assert.equal(res.status, 400)
          assert.equal(res.json.fields.hash_on_cookie, BAD_COOKIE)
          // Invalid cookie path
          res = await post({name: 'my.upstream', hash_on: 'cookie', hash_on_cookie: 'hashme', hash_on_cookie_path: 'not a path'})
          assert.equal(res.status, 400)
          assert.deepEqual(res.json.fields, {hash_on_cookie_path: 'should start with: /'})
          // Invalid cookie in hash fallback
          res = await post({name: 'my.upstream', hash_on: 'consumer', hash_fallback: 'cookie', hash_on_cookie: 'not a <> valid <> cookie name'})
          assert.equal(res.status, 400)
          assert.equal(res.json.fields.hash_on_cookie, BAD_COOKIE)
          // Invalid cookie path in hash fallback
          res = await post({name: 'my.upstream', hash_on: 'consumer', hash_fallback: 'cookie', hash_on_cookie: 'my-cookie', hash_on_cookie_path: 'not a path'})
          assert.equal(res.status, 400)
          assert.deepEqual(res.json.fields, {hash_on_cookie_path: 'should start with: /'})
        })
        itContentTypes('returns 409 on conflict', (contentType) => async () => {
          let res = await client().post('/upstreams', {body: {name: 'my.upstream'}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 201, res.text)
          res = await client().post('/upstreams', {body: {name: 'my.upstream'}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 409)
          assert.equal(res.json.name, 'unique constraint violation')
          assert.deepEqual(res.json.fields, {name: 'my.upstream'})
        })
      })
    })

    describe('PUT', () => {
      beforeEach(truncateUpstreams)
      itContentTypes('creates if not exists', (contentType) => async () => {
        const res = await client().put('/upstreams/my-upstream', {body: {created_at: 1461276890000}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.name, 'my-upstream')
        assert.equal(typeof res.json.created_at, 'number')
        assert.equal(typeof res.json.id, 'string')
        assert.equal(typeof res.json.slots, 'number')
      })
      itContentTypes('replaces if exists', (contentType) => async () => {
        let res = await client().post('/upstreams', {body: {name: 'my-upstream', slots: 100}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 201, res.text)
        const json = res.json
        res = await client().put(`/upstreams/${json.id}`, {body: {name: 'my-new-upstream', slots: 123, created_at: json.created_at}, headers: {'Content-Type': contentType}})
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.name, 'my-new-upstream')
        assert.equal(res.json.slots, 123)
        assert.equal(res.json.id, json.id)
      })
      describe('errors', () => {
        itContentTypes('handles invalid input', (contentType) => async () => {
          let res = await client().put('/upstreams/00000000-0000-0000-0000-000000000001', {body: {}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 400)
          assert.equal(res.json.message, 'schema violation (name: required field missing)')
          res = await client().put('/upstreams/1.2.3.4', {body: {created_at: 1461276890000}, headers: {'Content-Type': contentType}})
          assert.equal(res.status, 400)
          assert.equal(res.json.message, "Invalid name ('1.2.3.4'); no ip addresses allowed")
        })
      })
    })

    describe('GET', () => {
      before(async () => {
        await truncateUpstreams()
        // Kong's bp.upstreams:insert_n(10)
        for (let i = 0; i < 10; i++) assert.equal((await client().post('/upstreams', {body: {name: `upstream-${i}.test`, slots: 100}})).status, 201)
      })
      after(truncateUpstreams)

      it('retrieves the first page', async () => {
        const res = await client().get('/upstreams')
        assert.equal(res.status, 200)
        assert.equal(res.json.data.length, 10)
      })
      it('paginates a set', async () => {
        const pages: any[] = []
        let offset: string | undefined
        for (let i = 1; i <= 4; i++) {
          const res = await client().get('/upstreams', {query: {size: 3, offset}})
          assert.equal(res.status, 200, res.text)
          assert.equal(res.json.data.length, i < 4 ? 3 : 1)
          // check all pages are different
          if (i > 1) assert.notDeepEqual(res.json, pages[i - 2])
          offset = res.json.offset
          pages.push(res.json)
        }
      })
      it('ignores filters', async () => {
        assert.equal((await client().get('/upstreams', {query: {foo: 'bar'}})).status, 200)
      })
      it('ignores an invalid body', async () => {
        assert.equal((await client().get('/upstreams', {raw: 'this fails if decoded as json', headers: {'Content-Type': 'application/json'}})).status, 200)
      })
      it('returns bad request for empty tags', async () => {
        const res = await client().get('/upstreams?tags')
        assert.equal(res.status, 400)
        assert.equal(res.json.message, 'invalid option (tags: cannot be null)')
      })

      describe('empty results', () => {
        before(truncateUpstreams)
        it('data property is an empty array', async () => {
          const res = await client().get('/upstreams')
          assert.equal(res.status, 200)
          assert.deepEqual(res.json, {data: [], next: null})
          assert.ok(res.text.includes('"data":[]'), res.text)
        })
      })
    })

    describe('DELETE', () => {
      beforeEach(truncateUpstreams)
      const createMyUpstream = async () => {
        const res = await client().post('/upstreams', {body: {name: 'my-upstream', slots: 100}, headers: {'Content-Type': 'application/json'}})
        assert.equal(res.status, 201, res.text)
        return res.json
      }
      it('by id', async () => {
        const json = await createMyUpstream()
        assert.equal((await client().delete(`/upstreams/${json.id}`)).status, 204)
      })
      it('by name', async () => {
        const json = await createMyUpstream()
        assert.equal((await client().delete(`/upstreams/${json.name}`)).status, 204)
      })
      it('after deleting its targets (regression test for #4317)', async () => {
        await createMyUpstream()
        // create the target
        let res = await client().post('/upstreams/my-upstream/targets', {body: {target: '127.0.0.1:8000'}, headers: {'Content-Type': 'application/json'}})
        assert.equal(res.status, 201, res.text)
        // delete the target
        res = await client().delete('/upstreams/my-upstream/targets/127.0.0.1:8000', {headers: {'Content-Type': 'application/json'}})
        assert.equal(res.status, 204, res.text)
        // deleting the target does not delete the upstream
        res = await client().get('/upstreams/my-upstream', {headers: {'Content-Type': 'application/json'}})
        assert.equal(res.status, 200)
        // delete the upstream
        assert.equal((await client().delete('/upstreams/my-upstream')).status, 204)
      })
      it('can delete an upstream with targets', async () => {
        await createMyUpstream()
        const res = await client().post('/upstreams/my-upstream/targets', {body: {target: '127.0.0.1:8000'}, headers: {'Content-Type': 'application/json'}})
        assert.equal(res.status, 201, res.text)
        assert.equal((await client().delete('/upstreams/my-upstream')).status, 204)
      })
    })

    it('returns 405 on invalid method', async () => {
      const res = await client().delete('/upstreams', {headers: {'Content-Type': 'application/json'}})
      assert.equal(res.status, 405)
      assert.deepEqual(res.json, {message: 'Method not allowed'})
    })
  })
})

for (const strategy of ['postgres', 'off']) {
  describe(`#regression #${strategy}`, () => {
    let client: KongClient
    let close: () => Promise<void>
    before(async () => {
      const upstreams = ['my-upstream', 'my-upstream-2', 'my-upstream-3'].map((name) => ({name, slots: 100}))
      if (strategy === 'off') {
        const node = await startOffNode()
        close = node.stop
        await node.load({upstreams})
        client = node.client
      } else {
        const node = await startSpecNode()
        close = node.close
        client = node.client
        for (const u of upstreams) assert.equal((await client.post('/upstreams', {body: u})).status, 201)
      }
    })
    after(() => close?.())

    it('page size 1', async () => {
      let res = await client.get('/upstreams?size=1')
      assert.equal(res.status, 200, res.text)
      assert.equal(res.json.data.length, 1)
      assert.ok(res.json.offset)
      res = await client.get('/upstreams', {query: {size: 1, offset: res.json.offset}})
      assert.equal(res.status, 200, res.text)
      assert.equal(res.json.data.length, 1)
      assert.ok(res.json.offset)
      res = await client.get('/upstreams?size=2')
      assert.equal(res.status, 200, res.text)
      assert.equal(res.json.data.length, 2)
      assert.ok(res.json.offset)
    })
  })
}
