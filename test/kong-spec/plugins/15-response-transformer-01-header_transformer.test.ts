/**
 * Kong's spec/03-plugins/15-response-transformer/01-header_transformer_spec.lua (3.9): a
 * unit spec of the plugin's Lua module (`is_json_body`, `transform_headers` over a mocked
 * `ngx.header`). Its assertions are checked here as behaviour, through a real node (Admin
 * API over Postgres, its proxy, Kong's mock upstream): each describe's config is a
 * response-transformer on a route, the upstream answers the headers each case starts
 * from (`/respond`), and what the client receives is compared with what Kong's table
 * holds after the call. Same describe/it titles.
 *
 * "sets content-length nil": Kong drops the upstream's Content-Length when it will change
 * the JSON body and streams it chunked; kctl buffers the transformed body and sends its
 * true length. Both never pass the upstream's length on; that is what is checked.
 */
import assert from 'node:assert/strict'
import {after, before, describe, test as it} from 'node:test'
import {startPluginSpecNode, type PluginSpecNode} from './kong-proxy.js'

const JSON_TYPE = 'application/json'
const JSON_UTF8 = 'application/json; charset=utf-8'
const FORM = 'application/x-www-form-urlencoded; charset=utf-8'
/** The body the upstream answers; its length is the upstream's Content-Length. */
const BODY = '{"upstream":"body"}'

let node: PluginSpecNode
let seq = 0
/** A route whose response-transformer has `config`; its host. */
async function routeWith(config: Record<string, unknown>): Promise<string> {
  const host = `rt-headers-${++seq}.test`
  const route = await node.bp.routes.insert({hosts: [host]})
  await node.bp.plugins.insert({route: {id: route.id}, name: 'response-transformer', config})
  return host
}

/** The response to a request whose upstream answers `lines` (a name repeated for several lines) and `body`. */
async function respond(host: string, lines: [string, string][], body = BODY) {
  const res = await node.proxy.get('/respond', {headers: {host, 'x-respond-headers': JSON.stringify(lines), 'x-respond-body': Buffer.from(body).toString('base64')}})
  assert.equal(res.status, 200, res.text)
  return res
}

/** The upstream's headers that are not the node's or the upstream's own: what Kong's table held. */
function ownHeaders(res: {headers: Headers}, names: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const n of names) {
    const v = res.headers.get(n)
    if (v !== null) out[n] = v
  }
  return out
}

/** Kong's "sets content-length nil": the upstream's length is not passed on for a body that changed. */
function contentLengthNotUpstreams(res: {headers: Headers; text: string}) {
  assert.notEqual(res.text, BODY, 'the JSON body was transformed')
  const cl = res.headers.get('content-length')
  assert.ok(cl === null || Number(cl) === Buffer.byteLength(res.text), `content-length ${cl} is the body's (${Buffer.byteLength(res.text)})`)
  assert.notEqual(cl, String(Buffer.byteLength(BODY)))
}

/** Kong's "does not set content-length nil": body and length as the upstream sent them. */
function contentLengthKept(res: {headers: Headers; text: string}) {
  assert.equal(res.text, BODY)
  assert.equal(res.headers.get('content-length'), String(Buffer.byteLength(BODY)))
}

const empty = {remove: {json: [], headers: []}, rename: {json: [], headers: []}, replace: {json: [], headers: []}, add: {json: [], headers: []}, append: {json: [], headers: []}}
const conf = (over: Record<string, Record<string, string[]>>) => {
  const c: Record<string, Record<string, string[]>> = structuredClone(empty)
  for (const [op, v] of Object.entries(over)) Object.assign(c[op], v)
  return c
}

describe('Plugin: response-transformer', () => {
  before(async () => {
    node = await startPluginSpecNode()
  })
  after(() => node?.close())

  describe('is_json_body()', () => {
    let host: string
    before(async () => {
      host = await routeWith(conf({add: {json: ['p1:v1']}}))
    })
    /** Kong's is_json_body(type), observed: the JSON body is transformed only when it is truthy. */
    const isJsonBody = async (type: string) => JSON.parse((await respond(host, [['Content-Type', type]])).text).p1 === 'v1'
    it('is truthy when content-type application/json passed', async () => {
      assert.ok(await isJsonBody('application/json'))
      assert.ok(await isJsonBody('application/json; charset=utf-8'))
      assert.ok(await isJsonBody('application/problem+json'))
      assert.ok(await isJsonBody('application/problem+json; charset=utf-8'))
    })
    it('is truthy when content-type is multiple values along with application/json passed', async () => {
      assert.ok(await isJsonBody('application/x-www-form-urlencoded, application/json'))
    })
    it('is falsy when content-type not application/json', async () => {
      assert.ok(!(await isJsonBody('application/x-www-form-urlencoded')))
    })
  })

  describe('execute_headers()', () => {
    describe('remove', () => {
      let host: string
      before(async () => {
        host = await routeWith(conf({remove: {headers: ['h1', 'h2', 'h3']}, add: {json: ['p1:v1']}}))
      })
      it('all the headers', async () => {
        const res = await respond(host, [['h1', 'value1'], ['h2', 'value2a'], ['h2', 'value2b']])
        assert.deepEqual(ownHeaders(res, ['h1', 'h2', 'h3']), {})
      })
      it('sets content-length nil', async () => {
        contentLengthNotUpstreams(await respond(host, [['h1', 'value1'], ['h2', 'value2a'], ['h2', 'value2b'], ['Content-Type', JSON_TYPE]]))
      })
    })
    describe('rename', () => {
      let host: string
      before(async () => {
        host = await routeWith(conf({rename: {headers: ['h1:h2', 'h3:h4']}}))
      })
      it('header if the header exists', async () => {
        const res = await respond(host, [['h1', 'v1'], ['h3', 'v3']])
        assert.deepEqual(ownHeaders(res, ['h1', 'h2', 'h3', 'h4']), {h2: 'v1', h4: 'v3'})
      })
      // Kong's table holds " " (an empty value set again); on the wire a header's
      // surrounding spaces are not part of its value: h2 arrives, empty
      it('header if the header exists and is empty', async () => {
        const res = await respond(host, [['h1', '']])
        assert.deepEqual(ownHeaders(res, ['h1', 'h2']), {h2: ''})
      })
      it('does not add as new header if header is nil', async () => {
        const res = await respond(host, [])
        assert.deepEqual(ownHeaders(res, ['h1', 'h2']), {})
      })
      it('does not add as new header if header is not present', async () => {
        const res = await respond(host, [])
        assert.deepEqual(ownHeaders(res, ['h1', 'h2', 'h3', 'h4']), {})
      })
      it('header rename when same header being set twice', async () => {
        const res = await respond(host, [['h1', 'v1'], ['h1', 'v2']])
        assert.deepEqual(ownHeaders(res, ['h1', 'h2']), {h2: 'v1, v2'})
      })
    })
    describe('replace', () => {
      let host: string
      before(async () => {
        host = await routeWith(conf({replace: {headers: ['h1:v1', 'h2:value:2']}, add: {json: ['p1:v1']}})) // payload with colon to verify parsing
      })
      it('header if the header only exists', async () => {
        const res = await respond(host, [['h1', 'value1'], ['h2', 'value2a'], ['h2', 'value2b']])
        assert.deepEqual(ownHeaders(res, ['h1', 'h2']), {h1: 'v1', h2: 'value:2'})
      })
      it('does not add a new header if the header does not already exist', async () => {
        const res = await respond(host, [['h2', 'value2a'], ['h2', 'value2b']])
        assert.deepEqual(ownHeaders(res, ['h1', 'h2']), {h2: 'value:2'})
      })
      it('sets content-length nil', async () => {
        contentLengthNotUpstreams(await respond(host, [['h1', 'value1'], ['h2', 'value2a'], ['h2', 'value2b'], ['Content-Type', JSON_TYPE]]))
      })
    })
    describe('add', () => {
      let host: string
      before(async () => {
        host = await routeWith(conf({add: {json: ['p1:v1'], headers: ['h2:v2']}}))
      })
      it('header if the header does not exists', async () => {
        const res = await respond(host, [['h1', 'v1']])
        assert.deepEqual(ownHeaders(res, ['h1', 'h2']), {h1: 'v1', h2: 'v2'})
      })
      it('does not add a new header if the header already exist', async () => {
        const res = await respond(host, [['h1', 'v1'], ['h2', 'v3']])
        assert.deepEqual(ownHeaders(res, ['h1', 'h2']), {h1: 'v1', h2: 'v3'})
      })
      it('sets content-length nil', async () => {
        contentLengthNotUpstreams(await respond(host, [['h1', 'v1'], ['Content-Type', JSON_TYPE]]))
      })
    })
    describe('append', () => {
      let host: string
      before(async () => {
        host = await routeWith(conf({add: {json: ['p1:v1']}, append: {headers: ['h1:v2']}}))
      })
      it('header if the header does not exists', async () => {
        const res = await respond(host, [])
        assert.equal(res.headers.get('h1'), 'v2')
      })
      it('header if the header already exist', async () => {
        const res = await respond(host, [['h1', 'v1']])
        assert.deepEqual(ownHeaders(res, ['h1']), {h1: 'v1, v2'})
      })
      it('sets content-length nil', async () => {
        contentLengthNotUpstreams(await respond(host, [['h1', 'v1'], ['Content-Type', JSON_TYPE]]))
      })
    })
    describe('performing remove, replace, add, append together', () => {
      let host: string
      before(async () => {
        host = await routeWith(conf({remove: {headers: ['h1:v1']}, replace: {headers: ['h2:v3']}, add: {json: ['p1:v1'], headers: ['h3:v3']}, append: {headers: ['h3:v4']}}))
      })
      it('transforms all headers', async () => {
        const res = await respond(host, [['h1', 'v1'], ['h2', 'v2']])
        assert.deepEqual(ownHeaders(res, ['h1', 'h2', 'h3']), {h2: 'v3', h3: 'v3, v4'})
      })
      it('sets content-length nil', async () => {
        contentLengthNotUpstreams(await respond(host, [['h1', 'v1'], ['Content-Type', JSON_TYPE]]))
      })
    })
    describe('content-type json', () => {
      // each describe's last case empties the json list of its config (Kong mutates the
      // table); here that is a second route with the list empty
      for (const op of ['remove', 'replace', 'add', 'append'] as const) {
        const json = op === 'remove' ? ['p1'] : ['p1:v1', 'p2:v1']
        const headers = op === 'remove' ? ['h1', 'h2'] : ['h1:v1', 'h2:v2']
        const set = op === 'add' || op === 'append' ? 'set' : 'sets'
        describe(op, () => {
          let host: string
          let noJson: string
          before(async () => {
            host = await routeWith(conf({[op]: {json, headers}}))
            noJson = await routeWith(conf({[op]: {json: [], headers}}))
          })
          // for remove and replace, the upstream's body must hold the keys for the body to change
          const body = op === 'remove' || op === 'replace' ? '{"p1":"v0","p2":"v0"}' : BODY
          it(`${set} content-length nil if application/json passed`, async () => {
            const res = await respond(host, [['Content-Type', JSON_TYPE]], body)
            assert.notEqual(res.text, body)
            const cl = res.headers.get('content-length')
            assert.ok(cl === null || Number(cl) === Buffer.byteLength(res.text))
          })
          it(`${set} content-length nil if application/json and charset passed`, async () => {
            const res = await respond(host, [['Content-Type', JSON_UTF8]], body)
            assert.notEqual(res.text, body)
            const cl = res.headers.get('content-length')
            assert.ok(cl === null || Number(cl) === Buffer.byteLength(res.text))
          })
          it('does not set content-length nil if content-type not json', async () => {
            contentLengthKept(await respond(host, [['Content-Type', FORM]]))
          })
          it('does not set content-length nil if any of json not set', async () => {
            contentLengthKept(await respond(noJson, [['Content-Type', JSON_TYPE]]))
          })
        })
      }
    })
  })
})
