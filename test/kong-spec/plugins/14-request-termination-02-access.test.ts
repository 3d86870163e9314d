/**
 * Kong's spec/03-plugins/14-request-termination/02-access_spec.lua (3.9), ported: the same
 * describe/it titles and assertions, against a real node (Admin API over Postgres, its
 * proxy, Kong's mock upstream), strategy `postgres`. The gRPC case is skipped: kctl proxies
 * no gRPC yet.
 */
import assert from 'node:assert/strict'
import {after, before, describe, test as it} from 'node:test'
import {GATEWAY_VERSION} from '../../../src/runtime/kit/version.js'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from './kong-proxy.js'

const strategy = 'postgres'
const serverTokens = `kong/${GATEWAY_VERSION}`

describe(`Plugin: request-termination (access) [#${strategy}]`, () => {
  let node: PluginSpecNode
  before(async () => {
    node = await startPluginSpecNode()
    const bp = node.bp
    const routes: any[] = []
    for (let i = 1; i <= 10; i++) {
      if (i === 7) {
        // Kong's db.routes:insert: a route without a service
        const r = await node.admin.post('/routes', {body: {hosts: ['api7.request-termination.test']}})
        assert.equal(r.status, 201, r.text)
        routes.push(r.json)
      } else if (i === 9) routes.push(await bp.routes.insert({hosts: ['api9.request-termination.test'], strip_path: false, paths: ['~/(?<parameter>[^#?/]+)/200']}))
      else routes.push(await bp.routes.insert({hosts: [`api${i}.request-termination.test`]}))
    }
    const configs: Record<string, unknown>[] = [
      {},
      {status_code: 404},
      {status_code: 406, message: 'Invalid'},
      {body: '<html><body><h1>Service is down for maintenance</h1></body></html>'},
      {status_code: 451, content_type: 'text/html', body: '<html><body><h1>Service is down due to content infringement</h1></body></html>'},
      {status_code: 503, body: '{"code": 1, "message": "Service unavailable"}'},
      {},
      {status_code: 204},
      {echo: true, status_code: 404},
      {echo: true, trigger: 'gimme-an-echo', status_code: 404},
    ]
    for (let i = 0; i < configs.length; i++) await bp.plugins.insert({name: 'request-termination', route: {id: routes[i].id}, config: configs[i]})
  })
  after(() => node?.close())

  const get = (host: string, path = '/status/200') => node.proxy.get(path, {headers: {Host: host}})

  describe('status code and message', () => {
    it('default status code and message', async () => {
      const body = resStatus(503, await get('api1.request-termination.test'))
      assert.deepEqual(JSON.parse(body), {message: 'Service unavailable'})
    })
    it('default status code and message with serviceless route', async () => {
      const body = resStatus(503, await get('api7.request-termination.test'))
      assert.deepEqual(JSON.parse(body), {message: 'Service unavailable'})
    })
    it('status code with default message', async () => {
      const body = resStatus(404, await get('api2.request-termination.test'))
      assert.deepEqual(JSON.parse(body), {message: 'Not found'})
    })
    it('status code with custom message', async () => {
      const body = resStatus(406, await get('api3.request-termination.test'))
      assert.deepEqual(JSON.parse(body), {message: 'Invalid'})
    })
    it('returns 204 without content length header', async () => {
      const res = await get('api8.request-termination.test', '/status/204')
      resStatus(204, res)
      assert.equal(res.headers.get('content-length'), null)
    })
  })

  describe('status code and body', () => {
    it('default status code and body', async () => {
      const body = resStatus(503, await get('api4.request-termination.test'))
      assert.equal(body, '<html><body><h1>Service is down for maintenance</h1></body></html>')
    })
    it('status code with default message', async () => {
      const body = resStatus(451, await get('api5.request-termination.test'))
      assert.equal(body, '<html><body><h1>Service is down due to content infringement</h1></body></html>')
    })
    it('status code with default message #grpc', {skip: 'not yet: kctl proxies no gRPC'}, () => {})
    it('status code with custom message', async () => {
      const body = resStatus(503, await get('api6.request-termination.test'))
      assert.deepEqual(JSON.parse(body), {code: 1, message: 'Service unavailable'})
    })
  })

  it('returns server tokens with Server header', async () => {
    const res = await get('api1.request-termination.test')
    assert.equal(res.headers.get('server'), serverTokens)
  })

  describe('echo & trigger', () => {
    /** The echoed request, without the headers that depend on the client (Kong clears user-agent; Node's client adds connection). */
    const echoed = (json: any) => {
      delete json.request.headers['user-agent']
      delete json.request.headers.connection
      delete json.request.body
      return json.request
    }
    it('echos a request if no trigger is set', async () => {
      const res = await node.proxy.get('/status/200', {query: {hello: 'there'}, headers: {Host: 'api9.request-termination.test'}, raw: 'cool body'})
      assert.equal(res.status, 404, res.text)
      const json = res.json
      assert.equal(json.matched_route.hosts[0], 'api9.request-termination.test')
      assert.deepEqual(echoed(json), {
        headers: {'content-length': '9', host: 'api9.request-termination.test'},
        host: 'api9.request-termination.test',
        method: 'GET',
        path: '/status/200',
        port: node.proxyPort,
        query: {hello: 'there'},
        raw_body: 'cool body',
        scheme: 'http',
        uri_captures: {named: {parameter: 'status'}, unnamed: ['status']},
      })
    })
    it("doesn't echo a request if the trigger is set but not specified", async () => {
      const res = await get('api10.request-termination.test')
      assert.equal(res.status, 200, res.text)
    })
    it('echos a request if the trigger is specified as a header', async () => {
      const res = await node.proxy.get('/status/200', {query: {hello: 'there'}, headers: {Host: 'api10.request-termination.test', 'Gimme-An-Echo': 'anything will do'}, raw: 'cool body'})
      assert.equal(res.status, 404, res.text)
      const json = res.json
      assert.equal(json.matched_route.hosts[0], 'api10.request-termination.test')
      assert.deepEqual(echoed(json), {
        headers: {'content-length': '9', 'gimme-an-echo': 'anything will do', host: 'api10.request-termination.test'},
        host: 'api10.request-termination.test',
        method: 'GET',
        path: '/status/200',
        port: node.proxyPort,
        query: {hello: 'there'},
        raw_body: 'cool body',
        scheme: 'http',
        uri_captures: {named: {}, unnamed: []},
      })
    })
    it('echos a request if the trigger is specified as a query parameter', async () => {
      const res = await node.proxy.get('/status/200', {query: {hello: 'there', 'gimme-an-echo': 'anything will do'}, headers: {Host: 'api10.request-termination.test'}, raw: 'cool body'})
      assert.equal(res.status, 404, res.text)
      const json = res.json
      assert.equal(json.matched_route.hosts[0], 'api10.request-termination.test')
      assert.deepEqual(echoed(json), {
        headers: {'content-length': '9', host: 'api10.request-termination.test'},
        host: 'api10.request-termination.test',
        method: 'GET',
        path: '/status/200',
        port: node.proxyPort,
        query: {hello: 'there', 'gimme-an-echo': 'anything will do'},
        raw_body: 'cool body',
        scheme: 'http',
        uri_captures: {named: {}, unnamed: []},
      })
    })
  })
})
