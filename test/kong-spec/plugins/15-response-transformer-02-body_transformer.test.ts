/**
 * Kong's spec/03-plugins/15-response-transformer/02-body_transformer_spec.lua (3.9): a
 * unit spec of the plugin's Lua modules (`transform_json_body`, the handler's
 * `body_filter`). Its assertions are checked here as behaviour, through a real node
 * (Admin API over Postgres, its proxy, Kong's mock upstream): each describe's config is a
 * response-transformer on a route, the upstream answers the JSON each case starts from
 * (`/respond`), and the body the client receives is compared with what Kong's function
 * returns. Same describe/it titles. Kong re-encodes with cjson (`"\/"` for `/`, its own
 * key order): the bodies are compared as JSON, except where Kong compares text
 * (`"{}"`, `"[]"`, a body left alone).
 */
import assert from 'node:assert/strict'
import {after, before, describe, test as it} from 'node:test'
import {startPluginSpecNode, type PluginSpecNode} from './kong-proxy.js'

let node: PluginSpecNode
let seq = 0
async function routeWith(config: Record<string, unknown>): Promise<string> {
  const host = `rt-body-${++seq}.test`
  const route = await node.bp.routes.insert({hosts: [host]})
  await node.bp.plugins.insert({route: {id: route.id}, name: 'response-transformer', config})
  return host
}

/** The body the client receives when the upstream answers `body` as application/json. */
async function transformed(host: string, body: string, type = 'application/json'): Promise<string> {
  const res = await node.proxy.get('/respond', {headers: {host, 'x-respond-headers': JSON.stringify([['Content-Type', type]]), 'x-respond-body': Buffer.from(body).toString('base64')}})
  assert.equal(res.status, 200, res.text)
  return res.text
}
const transformJsonBody = async (host: string, json: string) => JSON.parse(await transformed(host, json))

describe('Plugin: response-transformer', () => {
  before(async () => {
    node = await startPluginSpecNode()
  })
  after(() => node?.close())

  describe('transform_json_body()', () => {
    describe('add', () => {
      let host: string
      before(async () => {
        host = await routeWith({add: {json: ['p1:v1', 'p3:value:3', 'p4:"v1"', 'p5:-1', 'p6:false', 'p7:true'], json_types: ['string', 'string', 'string', 'number', 'boolean', 'boolean']}})
      })
      it('parameter', async () => {
        assert.deepEqual(await transformJsonBody(host, '{"p2":"v1"}'), {p1: 'v1', p2: 'v1', p3: 'value:3', p4: '"v1"', p5: -1, p6: false, p7: true})
      })
      it('add value in double quotes', async () => {
        assert.deepEqual(await transformJsonBody(host, '{"p2":"v1"}'), {p1: 'v1', p2: 'v1', p3: 'value:3', p4: '"v1"', p5: -1, p6: false, p7: true})
      })
      it('number', async () => {
        assert.deepEqual(await transformJsonBody(host, '{"p2":-1}'), {p1: 'v1', p2: -1, p3: 'value:3', p4: '"v1"', p5: -1, p6: false, p7: true})
      })
      it('boolean', async () => {
        assert.deepEqual(await transformJsonBody(host, '{"p2":false}'), {p1: 'v1', p2: false, p3: 'value:3', p4: '"v1"', p5: -1, p6: false, p7: true})
      })
      it('preserves empty arrays', async () => {
        const body = await transformJsonBody(host, '{"p2":"v1", "a":[]}')
        assert.deepEqual(body, {p1: 'v1', p2: 'v1', p3: 'value:3', p4: '"v1"', p5: -1, p6: false, p7: true, a: []})
        assert.equal(JSON.stringify(body.a), '[]')
      })
    })

    describe('append', () => {
      let host: string
      before(async () => {
        host = await routeWith({append: {json: ['p1:v1', 'p3:"v1"', 'p4:-1', 'p5:false', 'p6:true'], json_types: ['string', 'string', 'number', 'boolean', 'boolean']}})
      })
      it('new key:value if key does not exists', async () => {
        assert.deepEqual(await transformJsonBody(host, '{"p2":"v1"}'), {p2: 'v1', p1: ['v1'], p3: ['"v1"'], p4: [-1], p5: [false], p6: [true]})
      })
      it('value if key exists', async () => {
        assert.deepEqual(await transformJsonBody(host, '{"p1":"v2"}'), {p1: ['v2', 'v1'], p3: ['"v1"'], p4: [-1], p5: [false], p6: [true]})
      })
      it('value in double quotes', async () => {
        assert.deepEqual(await transformJsonBody(host, '{"p3":"v2"}'), {p1: ['v1'], p3: ['v2', '"v1"'], p4: [-1], p5: [false], p6: [true]})
      })
      it('number', async () => {
        assert.deepEqual(await transformJsonBody(host, '{"p4":"v2"}'), {p1: ['v1'], p3: ['"v1"'], p4: ['v2', -1], p5: [false], p6: [true]})
      })
      it('boolean', async () => {
        assert.deepEqual(await transformJsonBody(host, '{"p5":"v5", "p6":"v6"}'), {p1: ['v1'], p3: ['"v1"'], p4: [-1], p5: ['v5', false], p6: ['v6', true]})
      })
      it('preserves empty arrays', async () => {
        const body = await transformJsonBody(host, '{"p2":"v1", "a":[]}')
        assert.deepEqual(body, {p2: 'v1', a: [], p1: ['v1'], p3: ['"v1"'], p4: [-1], p5: [false], p6: [true]})
        assert.equal(JSON.stringify(body.a), '[]')
      })
    })

    describe('remove', () => {
      let host: string
      before(async () => {
        host = await routeWith({remove: {json: ['p1', 'p2']}})
      })
      it('parameter', async () => {
        assert.equal(await transformed(host, '{"p1" : "v1", "p2" : "v1"}'), '{}')
      })
      it('preserves empty arrays', async () => {
        const body = await transformJsonBody(host, '{"p1" : "v1", "p2" : "v1", "a": []}')
        assert.deepEqual(body, {a: []})
        assert.equal(JSON.stringify(body.a), '[]')
      })
    })

    describe('rename', () => {
      let host: string
      before(async () => {
        host = await routeWith({rename: {json: ['p1:k1', 'p2:k2', 'p3:k3', 'p4:k4', 'p5:k5']}})
      })
      it('parameter', async () => {
        assert.deepEqual(await transformJsonBody(host, '{"p1" : "v1", "p2" : "v2"}'), {k1: 'v1', k2: 'v2'})
      })
      it('preserves empty arrays', async () => {
        const body = await transformJsonBody(host, '{"p1" : "v1", "p2" : "v2", "p3": []}')
        assert.deepEqual(body, {k1: 'v1', k2: 'v2', k3: []})
        assert.equal(JSON.stringify(body.k3), '[]')
      })
      it('number', async () => {
        assert.deepEqual(await transformJsonBody(host, '{"p3" : -1}'), {k3: -1})
      })
      it('boolean', async () => {
        assert.deepEqual(await transformJsonBody(host, '{"p4" : false, "p5" : true}'), {k4: false, k5: true})
      })
    })

    describe('replace', () => {
      let host: string
      before(async () => {
        host = await routeWith({replace: {json: ['p1:v2', 'p2:"v2"', 'p3:-1', 'p4:false', 'p5:true'], json_types: ['string', 'string', 'number', 'boolean', 'boolean']}})
      })
      it('parameter if it exists', async () => {
        assert.deepEqual(await transformJsonBody(host, '{"p1" : "v1", "p2" : "v1"}'), {p1: 'v2', p2: '"v2"'})
      })
      it('does not add value to parameter if parameter does not exists', async () => {
        assert.deepEqual(await transformJsonBody(host, '{"p1" : "v1"}'), {p1: 'v2'})
      })
      it('double quoted value', async () => {
        assert.deepEqual(await transformJsonBody(host, '{"p2" : "v1"}'), {p2: '"v2"'})
      })
      it('preserves empty arrays', async () => {
        const body = await transformJsonBody(host, '{"p1" : "v1", "p2" : "v1", "a": []}')
        assert.deepEqual(body, {p1: 'v2', p2: '"v2"', a: []})
        assert.equal(JSON.stringify(body.a), '[]')
      })
      it('number', async () => {
        assert.deepEqual(await transformJsonBody(host, '{"p3" : "v1"}'), {p3: -1})
      })
      it('boolean', async () => {
        assert.deepEqual(await transformJsonBody(host, '{"p4" : "v4", "p5" : "v5"}'), {p4: false, p5: true})
      })
    })

    describe('remove, rename, replace, add, append', () => {
      let host: string
      before(async () => {
        host = await routeWith({remove: {json: ['p1']}, rename: {json: ['p4:p2']}, replace: {json: ['p2:v2']}, add: {json: ['p3:v1']}, append: {json: ['p3:v2']}})
      })
      it('combination', async () => {
        assert.deepEqual(await transformJsonBody(host, '{"p1" : "v1", "p4" : "v1"}'), {p2: 'v2', p3: ['v1', 'v2']})
      })
      it('preserves empty array', async () => {
        const body = await transformJsonBody(host, '{"p1" : "v1", "p4" : "v1", "a" : []}')
        assert.deepEqual(body, {p2: 'v2', p3: ['v1', 'v2'], a: []})
        assert.equal(JSON.stringify(body.a), '[]')
      })
    })
  })

  describe('leave body alone', () => {
    let host: string
    before(async () => {
      // only a header transform, no body changes
      host = await routeWith({remove: {headers: ['h1', 'h2', 'h3'], json: []}})
    })
    it('body remains unaltered if no transforms have been set', async () => {
      const body = `

    {
      "id": 1,
      "name": "Some One",
      "username": "Bretchen",
      "email": "Not@here.com",
      "address": {
        "street": "Down Town street",
        "suite": "Apt. 23",
        "city": "Gwendoline"
      },
      "phone": "1-783-729-8531 x56442",
      "website": "hardwork.org",
      "company": {
        "name": "BestBuy",
        "catchPhrase": "just a bunch of words",
        "bs": "bullshit words"
      }
    }

  `
      // not parsed and re-encoded: the whitespace is still there
      assert.equal(await transformed(host, body), body)
    })
  })

  describe('handle unexpected body type', () => {
    let host: string
    before(async () => {
      host = await routeWith({remove: {json: ['foo']}})
    })
    // Kong checks with spies that the body was read and not set; the client gets it as sent
    it('gracefully fails transforming invalid json body', async () => {
      assert.equal(await transformed(host, 'not a json value'), 'not a json value')
    })
  })
})
