/**
 * Kong's spec/03-plugins/09-key-auth/02-access_spec.lua (3.9), ported: the same
 * describe/it titles and assertions, against a real node (Admin API over Postgres, its
 * proxy, Kong's mock upstream). Kong runs it for each strategy; this is `postgres`.
 * `assert.request(res).has.header(h)` reads the header the upstream received (echoed).
 */
import assert from 'node:assert/strict'
import {randomUUID} from 'node:crypto'
import {after, before, describe, test as it} from 'node:test'
import {until} from '../../helpers/until.js'
import {get} from '../../proxy/helpers.js'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from './kong-proxy.js'

const strategy = 'postgres'
const TYPES = ['application/x-www-form-urlencoded', 'application/json', 'multipart/form-data']
const matches = (pattern: string, s: string) => assert.ok(s.includes(pattern), `expected '${s}' to match '${pattern}'`)

describe(`Plugin: key-auth (access) [#${strategy}]`, () => {
  let node: PluginSpecNode
  let kongCred: any
  before(async () => {
    node = await startPluginSpecNode()
    const bp = node.bp
    const anonymousUser = await bp.consumers.insert({username: 'no-body'})
    const consumer = await bp.consumers.insert({username: 'bob'})
    const routes: any[] = []
    for (let i = 1; i <= 10; i++) {
      if (i === 7) {
        // Kong's service7 is an http_mock; the mock upstream answers OPTIONS /status/200 with 200 as well
        const service7 = await bp.services.insert()
        routes[7] = await bp.routes.insert({hosts: ['key-auth7.test'], service: service7, strip_path: true})
      } else routes[i] = await bp.routes.insert({hosts: [`key-auth${i}.test`]})
    }
    const plugin = (i: number, config?: Record<string, unknown>) => bp.plugins.insert({name: 'key-auth', route: {id: routes[i].id}, ...(config ? {config} : {})})
    await plugin(1)
    await plugin(2, {hide_credentials: true, realm: 'test-realm'})
    kongCred = await bp.credentials.insert('key-auth', consumer, {key: 'kong'})
    await plugin(3, {anonymous: anonymousUser.id})
    await plugin(4, {anonymous: randomUUID()}) // unknown consumer
    await plugin(5, {key_in_body: true})
    await plugin(6, {key_in_body: true, hide_credentials: true})
    await plugin(7, {run_on_preflight: false})
    await plugin(8, {key_names: ['api_key']})
    await plugin(9, {key_names: ['api-key']})
    await plugin(10, {anonymous: anonymousUser.username})
  })
  after(() => node?.close())
  const send = (method: string, path: string, headers: Record<string, string>, body?: unknown) => node.proxy.send(method, path, {headers, body})

  describe('Unauthorized', () => {
    it('returns 200 on OPTIONS requests if run_on_preflight is false', async () => {
      const res = await send('OPTIONS', '/status/200', {Host: 'key-auth7.test'})
      resStatus(200, res)
    })
    it('returns Unauthorized on OPTIONS requests if run_on_preflight is true', async () => {
      const res = await send('OPTIONS', '/status/200', {Host: 'key-auth1.test'})
      resStatus(401, res)
      assert.notEqual(res.json, undefined)
      matches('No API key found in request', res.json.message)
    })
    it('returns Unauthorized on missing credentials', async () => {
      const res = await send('GET', '/status/200', {Host: 'key-auth1.test'})
      resStatus(401, res)
      matches('No API key found in request', res.json.message)
    })
    it('returns Unauthorized on empty key header', async () => {
      const res = await send('GET', '/status/200', {Host: 'key-auth1.test', apikey: ''})
      resStatus(401, res)
      matches('No API key found in request', res.json.message)
    })
    describe('when realm is not configured', () => {
      it('returns Unauthorized on empty key header with no realm', async () => {
        const res = await send('GET', '/status/200', {Host: 'key-auth1.test', apikey: ''})
        resStatus(401, res)
        matches('No API key found in request', res.json.message)
        assert.equal(res.headers.get('WWW-Authenticate'), 'Key')
      })
    })
    describe('when realm is configured', () => {
      it('returns Unauthorized on empty key header with conifgured realm', async () => {
        const res = await send('GET', '/status/200', {Host: 'key-auth2.test', apikey: ''})
        resStatus(401, res)
        matches('No API key found in request', res.json.message)
        assert.equal(res.headers.get('WWW-Authenticate'), 'Key realm="test-realm"')
      })
    })
    it('returns Unauthorized on empty key querystring', async () => {
      const res = await send('GET', '/status/200?apikey', {Host: 'key-auth1.test'})
      resStatus(401, res)
      matches('No API key found in request', res.json.message)
      assert.equal(res.headers.get('WWW-Authenticate'), 'Key')
    })
    it('returns WWW-Authenticate header on missing credentials', async () => {
      const res = await send('GET', '/status/200', {Host: 'key-auth1.test'})
      assert.equal(res.headers.get('WWW-Authenticate'), 'Key')
    })
  })

  describe('key in querystring', () => {
    it('authenticates valid credentials', async () => {
      resStatus(200, await send('GET', '/request?apikey=kong', {Host: 'key-auth1.test'}))
    })
    it('returns 401 Unauthorized on invalid key', async () => {
      const res = await send('GET', '/status/200?apikey=123', {Host: 'key-auth1.test'})
      resStatus(401, res)
      matches('Unauthorized', res.json.message)
      assert.equal(res.headers.get('WWW-Authenticate'), 'Key')
    })
    it('handles duplicated key in querystring', async () => {
      const res = await send('GET', '/status/200?apikey=kong&apikey=kong', {Host: 'key-auth1.test'})
      resStatus(401, res)
      matches('Duplicate API key found', res.json.message)
      assert.equal(res.headers.get('WWW-Authenticate'), 'Key')
    })
  })

  describe('key in request body', () => {
    for (const type of TYPES) {
      describe(type, () => {
        it('authenticates valid credentials', async () => {
          resStatus(200, await send('GET', '/request', {Host: 'key-auth5.test', 'Content-Type': type}, {apikey: 'kong'}))
        })
        it('authenticates valid credentials in query', async () => {
          resStatus(200, await send('GET', '/request?apikey=kong', {Host: 'key-auth5.test', 'Content-Type': type}, {non_apikey: 'kong'}))
        })
        it('authenticates valid credentials in header', async () => {
          resStatus(200, await send('GET', '/request?apikey=kong', {Host: 'key-auth5.test', 'Content-Type': type, apikey: 'kong'}, {non_apikey: 'kong'}))
        })
        it('returns 401 Unauthorized on invalid key', async () => {
          const res = await send('GET', '/status/200', {Host: 'key-auth5.test', 'Content-Type': type}, {apikey: '123'})
          resStatus(401, res)
          matches('Unauthorized', res.json.message)
          assert.equal(res.headers.get('WWW-Authenticate'), 'Key')
        })
        // lua-multipart doesn't currently handle duplicates at all (Kong's comment).
        if (type === 'application/json') {
          it('handles duplicated key', async () => {
            const res = await send('POST', '/status/200', {Host: 'key-auth5.test', 'Content-Type': type}, {apikey: ['kong', 'kong']})
            resStatus(401, res)
            matches('Duplicate API key found', res.json.message)
            assert.equal(res.headers.get('WWW-Authenticate'), 'Key')
          })
        }
        if (type === 'application/x-www-form-urlencoded') {
          const post = (raw: string) => node.proxy.post('/status/200', {raw, headers: {Host: 'key-auth5.test', 'Content-Type': type}})
          it('handles duplicated key', async () => {
            const res = await post('apikey=kong&apikey=kong')
            resStatus(401, res)
            matches('Duplicate API key found', res.json.message)
            assert.equal(res.headers.get('WWW-Authenticate'), 'Key')
          })
          it('does not identify apikey[] as api keys', async () => {
            const res = await post('apikey[]=kong&apikey[]=kong')
            resStatus(401, res)
            matches('No API key found in request', res.json.message)
            assert.equal(res.headers.get('WWW-Authenticate'), 'Key')
          })
          it('does not identify apikey[1] as api keys', async () => {
            const res = await post('apikey[1]=kong&apikey[1]=kong')
            resStatus(401, res)
            matches('No API key found in request', res.json.message)
            assert.equal(res.headers.get('WWW-Authenticate'), 'Key')
          })
        }
      })
    }
  })

  describe('key in headers', () => {
    it('authenticates valid credentials', async () => {
      resStatus(200, await send('GET', '/request', {Host: 'key-auth1.test', apikey: 'kong'}))
    })
    it('returns 401 Unauthorized on invalid key', async () => {
      const res = await send('GET', '/status/200', {Host: 'key-auth1.test', apikey: '123'})
      resStatus(401, res)
      matches('Unauthorized', res.json.message)
    })
    // not in Kong's file: the header twice, as Kong's get_headers() gives it (a table)
    it('handles duplicated key in headers', async () => {
      const res = await get(node.proxyPort, '/status/200', {headers: {Host: 'key-auth1.test', apikey: ['kong', 'kong']} as unknown as Record<string, string>})
      assert.equal(res.status, 401, res.body)
      matches('Duplicate API key found', res.json().message)
      assert.equal(res.headers['www-authenticate'], 'Key')
    })
  })

  describe('key in gRPC headers', () => {
    const why = 'not yet: kctl proxies no gRPC (grpc/grpcs routes are accepted, no grpcbin in this suite)'
    it('rejects call without credentials', {skip: why}, () => {})
    it('accepts authorized calls', {skip: why}, () => {})
  })

  describe('underscores or hyphens in key headers', () => {
    it('authenticates valid credentials', async () => {
      resStatus(200, await send('GET', '/request', {Host: 'key-auth8.test', api_key: 'kong'}))
      resStatus(200, await send('GET', '/request', {Host: 'key-auth8.test', 'api-key': 'kong'}))
    })
    it('returns 401 Unauthorized on invalid key', async () => {
      let res = await send('GET', '/status/200', {Host: 'key-auth8.test', api_key: '123'})
      resStatus(401, res)
      matches('Unauthorized', res.json.message)
      assert.equal(res.headers.get('WWW-Authenticate'), 'Key')
      res = await send('GET', '/status/200', {Host: 'key-auth8.test', 'api-key': '123'})
      resStatus(401, res)
      matches('Unauthorized', res.json.message)
      assert.equal(res.headers.get('WWW-Authenticate'), 'Key')
    })
  })

  describe('Consumer headers', () => {
    it('sends Consumer headers to upstream', async () => {
      const res = await send('GET', '/request?apikey=kong', {Host: 'key-auth1.test'})
      const json = JSON.parse(resStatus(200, res))
      assert.equal(typeof json.headers['x-consumer-id'], 'string')
      assert.equal(json.headers['x-consumer-username'], 'bob')
      assert.equal(json.headers['x-credential-identifier'], kongCred.id)
      assert.equal(json.headers['x-anonymous-consumer'], undefined)
    })
  })

  describe('config.hide_credentials', () => {
    for (const contentType of TYPES) {
      const harness: Record<string, {headers: Record<string, string>; path: string; method: string; body?: unknown}[]> = {
        uri_args: [
          {headers: {Host: 'key-auth1.test'}, path: '/request?apikey=kong', method: 'GET'},
          {headers: {Host: 'key-auth2.test'}, path: '/request?apikey=kong', method: 'GET'},
        ],
        headers: [
          {headers: {Host: 'key-auth1.test', apikey: 'kong'}, path: '/request', method: 'GET'},
          {headers: {Host: 'key-auth2.test', apikey: 'kong'}, path: '/request', method: 'GET'},
        ],
        'post_data.params': [
          {headers: {Host: 'key-auth5.test', 'Content-Type': contentType}, body: {apikey: 'kong'}, method: 'POST', path: '/request'},
          {headers: {Host: 'key-auth6.test', 'Content-Type': contentType}, body: {apikey: 'kong'}, method: 'POST', path: '/request'},
        ],
      }
      for (const [type, cases] of Object.entries(harness)) {
        describe(type, () => {
          const field = (json: any) => (type === 'post_data.params' ? json.post_data.params : json[type])
          it(`(${contentType}) false sends key to upstream`, async () => {
            const json = JSON.parse(resStatus(200, await send(cases[0].method, cases[0].path, cases[0].headers, cases[0].body)))
            assert.equal(field(json).apikey, 'kong')
          })
          it(`(${contentType}) true doesn't send key to upstream`, async () => {
            const json = JSON.parse(resStatus(200, await send(cases[1].method, cases[1].path, cases[1].headers, cases[1].body)))
            assert.equal(field(json).apikey, undefined)
          })
        })
      }
      it(`(${contentType}) true preserves body MIME type`, async () => {
        const json = JSON.parse(resStatus(200, await send('POST', '/request', {Host: 'key-auth6.test', 'Content-Type': contentType}, {apikey: 'kong', foo: 'bar'})))
        assert.equal(json.post_data.params.foo, 'bar')
      })
    }
    it("fails with 'key_in_body' and unsupported content type", async () => {
      const res = await node.proxy.send('GET', '/status/200', {raw: 'foobar', headers: {Host: 'key-auth6.test', 'Content-Type': 'text/plain'}})
      resStatus(401, res)
      matches('No API key found in request', res.json.message)
      assert.equal(res.headers.get('WWW-Authenticate'), 'Key')
    })
    it('does not remove apikey and preserves order of query parameters', async () => {
      const json = JSON.parse(resStatus(200, await send('GET', '/request?c=value1&b=value2&apikey=kong&a=value3', {Host: 'key-auth1.test'})))
      assert.equal(json.vars.request_uri, '/request?c=value1&b=value2&apikey=kong&a=value3')
    })
    it('removes apikey and preserves order of query parameters', async () => {
      const json = JSON.parse(resStatus(200, await send('GET', '/request?c=value1&b=value2&apikey=kong&a=value3', {Host: 'key-auth2.test'})))
      assert.equal(json.vars.request_uri, '/request?c=value1&b=value2&a=value3')
    })
    it('removes apikey in encoded query and preserves order of query parameters', async () => {
      const json = JSON.parse(resStatus(200, await send('GET', '/request?c=valu%651&b=value2&api%6B%65%79=kong&a=valu%653', {Host: 'key-auth2.test'})))
      assert.equal(json.vars.request_uri, '/request?c=value1&b=value2&a=value3')
    })
  })

  describe('config.anonymous', () => {
    it('works with right credentials and anonymous', async () => {
      const body = JSON.parse(resStatus(200, await send('GET', '/request?apikey=kong', {Host: 'key-auth3.test'})))
      assert.equal(body.headers['x-consumer-username'], 'bob')
      assert.equal(body.headers['x-credential-identifier'], kongCred.id)
      assert.equal(body.headers['x-anonymous-consumer'], undefined)
    })
    it('works with wrong credentials and anonymous', async () => {
      const body = JSON.parse(resStatus(200, await send('GET', '/request', {Host: 'key-auth3.test'})))
      assert.equal(body.headers['x-anonymous-consumer'], 'true')
      assert.equal(body.headers['x-credential-identifier'], undefined)
      assert.equal(body.headers['x-consumer-username'], 'no-body')
    })
    it('works with wrong credentials and username as anonymous', async () => {
      const body = JSON.parse(resStatus(200, await send('GET', '/request', {Host: 'key-auth10.test'})))
      assert.equal(body.headers['x-anonymous-consumer'], 'true')
      assert.equal(body.headers['x-consumer-username'], 'no-body')
    })
    it("errors when anonymous user doesn't exist", async () => {
      const res = await send('GET', '/request', {Host: 'key-auth4.test'})
      assert.equal(res.status, 500)
    })
  })
})

describe(`Plugin: key-auth (access) [#${strategy}]`, () => {
  let node: PluginSpecNode
  let user1: any
  let user2: any
  let anonymous: any
  before(async () => {
    node = await startPluginSpecNode()
    const bp = node.bp
    const route1 = await bp.routes.insert({hosts: ['logical-and.test']})
    const service = await bp.services.insert({path: '/request'})
    const route2 = await bp.routes.insert({hosts: ['logical-or.test'], service})
    await bp.plugins.insert({name: 'basic-auth', route: {id: route1.id}})
    await bp.plugins.insert({name: 'key-auth', route: {id: route1.id}})
    anonymous = await bp.consumers.insert({username: 'Anonymous'})
    user1 = await bp.consumers.insert({username: 'Mickey'})
    user2 = await bp.consumers.insert({username: 'Aladdin'})
    await bp.plugins.insert({name: 'basic-auth', route: {id: route2.id}, config: {anonymous: anonymous.id}})
    await bp.plugins.insert({name: 'key-auth', route: {id: route2.id}, config: {anonymous: anonymous.id}})
    await bp.credentials.insert('key-auth', user1, {key: 'Mouse'})
    await bp.credentials.insert('basic-auth', user2, {username: 'Aladdin', password: 'OpenSesame'})
  })
  after(() => node?.close())
  const request = (headers: Record<string, string>) => node.proxy.get('/request', {headers})
  const upstreamHeader = (res: {text: string}, h: string) => JSON.parse(res.text).headers[h]

  describe('multiple auth without anonymous, logical AND', () => {
    it('passes with all credentials provided', async () => {
      const res = await request({Host: 'logical-and.test', apikey: 'Mouse', Authorization: 'Basic QWxhZGRpbjpPcGVuU2VzYW1l'})
      assert.equal(res.status, 200, res.text)
      assert.equal(upstreamHeader(res, 'x-anonymous-consumer'), undefined)
      const id = upstreamHeader(res, 'x-consumer-id')
      assert.ok(id)
      assert.notEqual(id, anonymous.id)
      assert.ok(id === user1.id || id === user2.id)
    })
    it('fails 401, with only the first credential provided', async () => {
      const res = await request({Host: 'logical-and.test', apikey: 'Mouse'})
      assert.equal(res.status, 401)
      assert.equal(res.headers.get('WWW-Authenticate'), 'Basic realm="service"')
    })
    it('fails 401, with only the second credential provided', async () => {
      const res = await request({Host: 'logical-and.test', Authorization: 'Basic QWxhZGRpbjpPcGVuU2VzYW1l'})
      assert.equal(res.status, 401)
      assert.equal(res.headers.get('WWW-Authenticate'), 'Key')
    })
    it('fails 401, with no credential provided', async () => {
      assert.equal((await request({Host: 'logical-and.test'})).status, 401)
    })
  })

  describe('multiple auth with anonymous, logical OR', () => {
    it('passes with all credentials provided', async () => {
      const res = await request({Host: 'logical-or.test', apikey: 'Mouse', Authorization: 'Basic QWxhZGRpbjpPcGVuU2VzYW1l'})
      assert.equal(res.status, 200, res.text)
      assert.equal(upstreamHeader(res, 'x-anonymous-consumer'), undefined)
      const id = upstreamHeader(res, 'x-consumer-id')
      assert.notEqual(id, anonymous.id)
      assert.ok(id === user1.id || id === user2.id)
    })
    it('passes with only the first credential provided', async () => {
      const res = await request({Host: 'logical-or.test', apikey: 'Mouse'})
      assert.equal(res.status, 200, res.text)
      assert.equal(upstreamHeader(res, 'x-anonymous-consumer'), undefined)
      const id = upstreamHeader(res, 'x-consumer-id')
      assert.notEqual(id, anonymous.id)
      assert.equal(id, user1.id)
    })
    it('passes with only the second credential provided', async () => {
      const res = await request({Host: 'logical-or.test', Authorization: 'Basic QWxhZGRpbjpPcGVuU2VzYW1l'})
      assert.equal(res.status, 200, res.text)
      assert.equal(upstreamHeader(res, 'x-anonymous-consumer'), undefined)
      const id = upstreamHeader(res, 'x-consumer-id')
      assert.notEqual(id, anonymous.id)
      assert.equal(id, user2.id)
    })
    it('passes with no credential provided', async () => {
      const res = await request({Host: 'logical-or.test'})
      assert.equal(res.status, 200, res.text)
      assert.ok(upstreamHeader(res, 'x-anonymous-consumer'))
      assert.equal(upstreamHeader(res, 'x-consumer-id'), anonymous.id)
    })
  })

  describe('auto-expiring keys', () => {
    // Give a bit of time to reduce test flakyness on slow setups (Kong's comment)
    const ttl = 10
    let insertedAt = 0
    before(async () => {
      const bp = node.bp
      const r = await bp.routes.insert({hosts: ['key-ttl.test']})
      await bp.plugins.insert({name: 'key-auth', route: {id: r.id}})
      const jafar = await bp.consumers.insert({username: 'Jafar'})
      await bp.credentials.insert('key-auth', jafar, {key: 'kong', ttl})
      insertedAt = Date.now()
    })
    it("authenticate for up to 'ttl'", async () => {
      resStatus(200, await node.proxy.get('/status/200', {headers: {Host: 'key-ttl.test', apikey: 'kong'}}))
      const elapsed = (Date.now() - insertedAt) / 1000
      await until('the key to expire', async () => (await node.proxy.get('/status/200', {headers: {Host: 'key-ttl.test', apikey: 'kong'}})).status === 401, {
        timeoutMs: (ttl - elapsed + 3) * 1000,
      })
    })
  })
})

describe(`Plugin: key-auth (access) [#${strategy}]`, () => {
  let node: PluginSpecNode
  before(async () => {
    node = await startPluginSpecNode()
    const bp = node.bp
    const consumer = await bp.consumers.insert({username: 'bob'})
    await bp.credentials.insert('key-auth', consumer, {key: 'right'})
    const service = await bp.services.insert({path: '/status/200'})
    const flags: Record<string, [boolean, boolean, boolean]> = {
      '/ttt': [true, true, true], '/ttf': [true, true, false], '/tff': [true, false, false], '/fff': [false, false, false],
      '/fft': [false, false, true], '/tft': [true, false, true], '/ftf': [false, true, false],
    }
    for (const [path, [h, q, b]] of Object.entries(flags)) {
      const r = await bp.routes.insert({paths: [path], service})
      await bp.plugins.insert({name: 'key-auth', route: {id: r.id}, config: {key_in_header: h, key_in_query: q, key_in_body: b}})
    }
  })
  after(() => node?.close())

  type V = 'right' | 'wrong' | null
  const R = 'right', W = 'wrong', N = null
  const paths = ['/ttt', '/ttf', '/tff', '/fff', '/fft', '/tft', '/ftf']
  // header, query, body and the status for each of the 7 paths above, as Kong's table
  const rows: [V, V, V, number[]][] = [
    [R, R, R, [200, 200, 200, 401, 200, 200, 200]],
    [R, R, W, [200, 200, 200, 401, 401, 200, 200]],
    [R, W, W, [200, 200, 200, 401, 401, 200, 401]],
    [W, W, W, [401, 401, 401, 401, 401, 401, 401]],
    [W, W, R, [401, 401, 401, 401, 200, 401, 401]],
    [R, W, R, [200, 200, 200, 401, 200, 200, 401]],
    [W, R, W, [401, 401, 401, 401, 401, 401, 200]],
    [N, N, N, [401, 401, 401, 401, 401, 401, 401]],
    [N, N, W, [401, 401, 401, 401, 401, 401, 401]],
    [N, W, W, [401, 401, 401, 401, 401, 401, 401]],
    [W, W, N, [401, 401, 401, 401, 401, 401, 401]],
    [N, W, N, [401, 401, 401, 401, 401, 401, 401]],
    [W, N, W, [401, 401, 401, 401, 401, 401, 401]],
    [R, R, N, [200, 200, 200, 401, 401, 200, 200]],
    [R, N, N, [200, 200, 200, 401, 401, 200, 401]],
    [N, N, R, [200, 401, 401, 401, 200, 200, 401]],
    [R, N, R, [200, 200, 200, 401, 200, 200, 401]],
    [N, R, N, [200, 200, 401, 401, 401, 401, 200]],
    [N, R, W, [200, 200, 401, 401, 401, 401, 200]],
    [R, W, N, [200, 200, 200, 401, 401, 200, 401]],
    [R, N, W, [200, 200, 200, 401, 401, 200, 401]],
    [N, W, R, [401, 401, 401, 401, 200, 200, 401]],
    [W, R, N, [401, 401, 401, 401, 401, 401, 200]],
    [W, N, R, [401, 401, 401, 401, 200, 401, 401]],
  ]
  let i = 0
  for (const [header, query, body, statuses] of rows) {
    paths.forEach((path, p) => {
      const expected = statuses[p]
      const input = (header ?? 'n')[0] + (query ?? 'n')[0] + (body ?? 'n')[0]
      it(`combination #${++i} (${input} => ${path.slice(1)}) works`, async () => {
        const headers: Record<string, string> = {'Content-Type': 'application/x-www-form-urlencoded'}
        if (header) headers.apikey = header
        const res = await node.proxy.send('POST', path + (query ? `?apikey=${query}` : ''), {raw: body ? `apikey=${body}` : undefined, headers})
        resStatus(expected, res)
        if (expected === 401) assert.equal(res.headers.get('WWW-Authenticate'), 'Key')
      })
    })
  }
})
