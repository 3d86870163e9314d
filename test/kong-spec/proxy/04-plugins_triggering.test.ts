/**
 * Kong's spec/02-integration/05-proxy/04-plugins_triggering_spec.lua (3.9), ported: the same
 * describe/it titles and assertions, against a real node (Admin API over Postgres, its
 * proxy, Kong's mock upstream), strategy `postgres`. Where Kong truncates the tables and
 * restarts, the entities are deleted through the Admin API (the proxy rebuilds on every
 * write).
 *
 * Kong's test plugins (`dummy`, `error-generator`, `error-handler-log`, `short-circuit`,
 * `init-worker-lua-error`) and `file-log`, `pre-function` are not bundled. Where a case is
 * about a phase running, a bundled plugin with that phase stands in: response-transformer
 * for `dummy`'s header and body filters (a header, a JSON key), prometheus for `file-log`
 * (the request is counted by its log handler, with its status). The cases that read what a
 * file-log entry holds, or need the test plugins' own behaviour, are skipped, saying why.
 */
import assert from 'node:assert/strict'
import {Agent, request as httpsRequest} from 'node:https'
import {after, before, describe, test as it} from 'node:test'
import {startBlackhole} from '../../proxy/blackhole.js'
import {deadPort} from '../../proxy/helpers.js'
import {until} from '../../helpers/until.js'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from '../plugins/kong-proxy.js'

const strategy = 'postgres'
const TEST_PLUGIN = (name: string) => `Kong's test plugin \`${name}\` is not bundled`
const NO_FILE_LOG = 'reads the request as a file-log entry holds it (headers, querystring, upstream_uri): kctl bundles no file-log, and prometheus, the bundled log plugin, keeps no request'
const NGINX_CLIENT_ERROR = 'a request Node\'s parser refuses gets Kong\'s error page but no plugin runs on it (Kong runs its global plugins); no bundled log plugin records a request no route matched'

/** Kong's `db:truncate(...)`: every plugin, route, service and consumer deleted (credentials go with their consumer). */
async function truncate(node: PluginSpecNode): Promise<void> {
  for (const kind of ['plugins', 'routes', 'services', 'consumers']) {
    for (;;) {
      const page = resStatus(200, await node.admin.get(`/${kind}`))
      const {data} = JSON.parse(page) as {data: {id: string}[]}
      if (data.length === 0) break
      for (const e of data) resStatus(204, await node.admin.delete(`/${kind}/${e.id}`))
    }
  }
}

/** The prometheus count of requests to `service` answered with `code` (0 when absent). */
async function counted(node: PluginSpecNode, service: string, code: number): Promise<number> {
  const body = resStatus(200, await node.admin.get('/metrics'))
  const line = body.split('\n').find((l) => l.startsWith('kong_http_requests_total{') && l.includes(`service="${service}"`) && l.includes(`code="${code}"`))
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0
}

/** Kong's `wait_for_log_line`: the log handler saw this request (counted once more). */
const waitForLogLine = (node: PluginSpecNode, service: string, code: number, before: number) =>
  until(`prometheus counted a ${code} of ${service}`, async () => (await counted(node, service, code)) === before + 1)

describe(`Plugins triggering [#${strategy}]`, () => {
  let node: PluginSpecNode
  const cleanups: (() => unknown)[] = []

  before(async () => {
    node = await startPluginSpecNode()
    const bp = node.bp
    const consumer1 = await bp.consumers.insert({username: 'consumer1'})
    await bp.credentials.insert('key-auth', consumer1, {key: 'secret1'})
    const consumer2 = await bp.consumers.insert({username: 'consumer2'})
    await bp.credentials.insert('key-auth', consumer2, {key: 'secret2'})
    const consumer3 = await bp.consumers.insert({username: 'anonymous'})

    // Global configuration
    const service1 = await bp.services.insert({name: 'global1'})
    await bp.routes.insert({hosts: ['global1.test'], protocols: ['http'], service: {id: service1.id}})
    await bp.plugins.insert({name: 'key-auth', config: {}})
    await bp.plugins.insert({name: 'rate-limiting', config: {policy: 'local', hour: 1}})

    // API Specific Configuration
    const service2 = await bp.services.insert({name: 'api1'})
    const route1 = await bp.routes.insert({hosts: ['api1.test'], protocols: ['http'], service: {id: service2.id}})
    await bp.plugins.insert({name: 'rate-limiting', route: {id: route1.id}, service: {id: service2.id}, config: {policy: 'local', hour: 2}})

    // Consumer Specific Configuration
    await bp.plugins.insert({name: 'rate-limiting', consumer: {id: consumer2.id}, config: {policy: 'local', hour: 3}})

    // API and Consumer Configuration
    const service3 = await bp.services.insert({name: 'api2'})
    const route2 = await bp.routes.insert({hosts: ['api2.test'], protocols: ['http'], service: {id: service3.id}})
    await bp.plugins.insert({name: 'rate-limiting', route: {id: route2.id}, consumer: {id: consumer2.id}, config: {policy: 'local', hour: 4}})

    // API with anonymous configuration
    const service4 = await bp.services.insert({name: 'api3'})
    const route3 = await bp.routes.insert({hosts: ['api3.test'], protocols: ['http'], service: {id: service4.id}})
    await bp.plugins.insert({name: 'key-auth', config: {anonymous: consumer3.id}, route: {id: route3.id}, service: {id: service4.id}})
    await bp.plugins.insert({name: 'rate-limiting', route: {id: route3.id}, service: {id: service4.id}, consumer: {id: consumer3.id}, config: {policy: 'local', hour: 5}})
    // the `service-error` route is left out: its plugins are Kong's test plugins
  })
  after(async () => {
    for (const fn of cleanups.reverse()) await fn()
    await node?.close()
  })

  const get = (path: string, host: string, headers: Record<string, string> = {}) => node.proxy.get(path, {headers: {Host: host, ...headers}})

  it('checks global configuration without credentials', async () => {
    resStatus(401, await get('/status/200', 'global1.test'))
  })

  it('checks global api configuration', async () => {
    const res = await get('/status/200?apikey=secret1', 'global1.test')
    resStatus(200, res)
    assert.equal(res.headers.get('x-ratelimit-limit-hour'), '1')
  })

  it('checks api specific configuration', async () => {
    const res = await get('/status/200?apikey=secret1', 'api1.test')
    resStatus(200, res)
    assert.equal(res.headers.get('x-ratelimit-limit-hour'), '2')
  })

  it('checks global consumer configuration', async () => {
    const res = await get('/status/200?apikey=secret2', 'global1.test')
    resStatus(200, res)
    assert.equal(res.headers.get('x-ratelimit-limit-hour'), '3')
  })

  it('checks consumer specific configuration', async () => {
    const res = await get('/status/200?apikey=secret2', 'api2.test')
    resStatus(200, res)
    assert.equal(res.headers.get('x-ratelimit-limit-hour'), '4')
  })

  it('checks anonymous consumer specific configuration', async () => {
    const res = await get('/status/200', 'api3.test')
    resStatus(200, res)
    assert.equal(res.headers.get('x-ratelimit-limit-hour'), '5')
  })

  it('builds complete plugins iterator even when plugin errors', {skip: `${TEST_PLUGIN('error-generator')} (nor \`error-handler-log\`)`}, () => {})

  describe('short-circuited requests', () => {
    before(async () => {
      await truncate(node)
      const bp = node.bp
      {
        const service = await bp.services.insert({name: 'example', host: '127.0.0.1', port: node.upstream.port})
        const route = await bp.routes.insert({hosts: ['mock_upstream'], protocols: ['http'], service: {id: service.id}})
        // plugin able to short-circuit a request
        await bp.plugins.insert({name: 'key-auth', route: {id: route.id}})
        // response/body filter plugin (Kong's `dummy`: a header, and the body appended to)
        await bp.plugins.insert({name: 'response-transformer', route: {id: route.id}, config: {add: {headers: ['Dummy-Plugin:1'], json: ['dummy:appended from body filtering']}}})
        // log phase plugin (Kong's `file-log`)
        await bp.plugins.insert({name: 'prometheus', route: {id: route.id}, config: {status_code_metrics: true}})
      }
    })

    it('execute a log plugin', async () => {
      const before = await counted(node, 'example', 401)
      const res = await get('/status/200', 'mock_upstream', {'X-UUID': crypto.randomUUID()}) // /!\ no key credential
      resStatus(401, res)
      // TEST: ensure that our logging plugin was executed and recorded the request
      await waitForLogLine(node, 'example', 401, before)
    })

    it('execute a header_filter plugin', async () => {
      const res = await get('/status/200', 'mock_upstream')
      resStatus(401, res)
      // TEST: ensure that the dummy plugin was executed by checking
      // that headers have been injected in the header_filter phase
      // Plugins such as CORS need to run on short-circuited requests
      // as well.
      assert.notEqual(res.headers.get('dummy-plugin'), null)
    })

    it('execute a body_filter plugin', async () => {
      const res = await get('/status/200', 'mock_upstream')
      const body = resStatus(401, res)
      // TEST: ensure that the dummy plugin was executed by checking
      // that the body filtering phase has run
      assert.ok(body.includes('appended from body filtering'), body)
    })

    // regression test for bug spotted in 0.12.0rc2
    it('responses.send stops plugin but runloop continues', {skip: `${TEST_PLUGIN('dummy')}: its access handler answers with \`send_error\``}, () => {})
  })

  describe('anonymous reports execution', () => {
    before(async () => {
      await truncate(node)
      const bp = node.bp
      const service = await bp.services.insert({name: 'example'})
      const route = await bp.routes.insert({hosts: ['mock_upstream'], protocols: ['http'], service: {id: service.id}})
      await bp.plugins.insert({name: 'key-auth', route: {id: route.id}, service: {id: service.id}})
      const consumer = await bp.consumers.insert({username: 'bob'})
      await bp.credentials.insert('key-auth', consumer, {key: 'abcd'})
    })

    it('runs without causing an internal error', async () => {
      resStatus(401, await get('/status/200', 'mock_upstream'))
      resStatus(200, await get('/status/200', 'mock_upstream', {apikey: 'abcd'}))
    })
  })

  describe('proxy-intercepted error', () => {
    before(async () => {
      await truncate(node)
      const bp = node.bp
      // service to mock HTTP 502: a loopback port nobody listens on
      const refused = await bp.services.insert({name: 'conn_refused', host: '127.0.0.1', port: await deadPort()})
      await bp.routes.insert({hosts: ['refused'], protocols: ['http'], service: {id: refused.id}})
      // service to mock HTTP 503
      const unavailable = await bp.services.insert({name: 'unavailable'})
      await bp.routes.insert({hosts: ['unavailable'], protocols: ['http'], service: {id: unavailable.id}})
      // service to mock HTTP 504: a loopback port whose accept queue is full
      const blackhole = await startBlackhole({after: (fn) => cleanups.push(fn)})
      const timeout = await bp.services.insert({name: 'timeout', host: '127.0.0.1', port: blackhole.port, connect_timeout: 1})
      await bp.routes.insert({hosts: ['connect_timeout'], protocols: ['http'], service: {id: timeout.id}})
      // the log plugin, global (Kong's file-log on each service and globally)
      await bp.plugins.insert({name: 'prometheus', config: {status_code_metrics: true}})
    })

    it('executes a log plugin on Bad Gateway (HTTP 502)', async () => {
      const before = await counted(node, 'conn_refused', 502)
      const res = await get('/status/200', 'refused', {'X-UUID': crypto.randomUUID()})
      resStatus(502, res) // Bad Gateway
      // TEST: ensure that our logging plugin was executed
      await waitForLogLine(node, 'conn_refused', 502, before)
    })

    it('log plugins sees same request in error_page handler (HTTP 502)', {skip: NO_FILE_LOG}, () => {})

    it('executes a log plugin on Service Unavailable (HTTP 503)', async () => {
      const before = await counted(node, 'unavailable', 503)
      const res = await get('/status/503', 'unavailable', {'X-UUID': crypto.randomUUID()})
      resStatus(503, res) // Service Unavailable
      await waitForLogLine(node, 'unavailable', 503, before)
    })

    it('executes a log plugin on Gateway Timeout (HTTP 504)', async () => {
      const before = await counted(node, 'timeout', 504)
      const res = await get('/status/200', 'connect_timeout', {'X-UUID': crypto.randomUUID()})
      resStatus(504, res) // Gateway Timeout
      await waitForLogLine(node, 'timeout', 504, before)
    })

    it('log plugins sees same request in error_page handler (HTTP 504)', {skip: NO_FILE_LOG}, () => {})
    it('executes a global log plugin on Nginx-produced client errors (HTTP 400)', {skip: NGINX_CLIENT_ERROR}, () => {})
    it('log plugins sees same request in error_page handler (HTTP 400)', {skip: NGINX_CLIENT_ERROR}, () => {})
    it('executes a global log plugin on Nginx-produced client errors (HTTP 414)', {skip: NGINX_CLIENT_ERROR}, () => {})
    it('log plugins sees same request in error_page handler (HTTP 414)', {skip: NGINX_CLIENT_ERROR}, () => {})
    it('executes plugins header_filter/body_filter on Nginx-produced client errors (HTTP 4xx)', {skip: TEST_PLUGIN('error-handler-log')}, () => {})
    it('executes plugins header_filter/body_filter on Nginx-produced server errors (HTTP 5xx)', {skip: TEST_PLUGIN('error-handler-log')}, () => {})
    it('sees ctx introspection variables on Nginx-produced server errors (HTTP 5xx)', {skip: TEST_PLUGIN('error-handler-log')}, () => {})
    it('kong.response.get_source() returns "error" if plugin runtime exception occurs, FTI-3200', {skip: '`pre-function` (Lua) is not bundled'}, () => {})
  })

  describe("plugin's init_worker", () => {
    describe('[pre-configured]', () => {
      it('is executed', {skip: `${TEST_PLUGIN('short-circuit')}; kctl plugins have no init_worker phase`}, () => {})
      it('protects against failed init_worker handler, FTI-2473', {skip: `${TEST_PLUGIN('init-worker-lua-error')}; kctl plugins have no init_worker phase`}, () => {})
    })
    describe('[runtime-configured]', () => {
      it('is executed', {skip: `${TEST_PLUGIN('short-circuit')}; kctl plugins have no init_worker phase`}, () => {})
    })
  })
})

describe(`Plugins triggering [#${strategy}] with TLS keepalive`, () => {
  let node: PluginSpecNode
  before(async () => {
    node = await startPluginSpecNode({}, {ssl: true})
    const bp = node.bp
    // Global configuration
    const service = await bp.services.insert({name: 'mock'})
    const route = await bp.routes.insert({paths: ['/route-1'], protocols: ['https'], service: {id: service.id}})
    await bp.routes.insert({paths: ['/route-2'], protocols: ['https'], service: {id: service.id}})
    await bp.plugins.insert({name: 'request-termination', route: {id: route.id}, config: {status_code: 201}})
  })
  after(() => node?.close())

  it('certificate phase clears context, fix #7054', async () => {
    // one TLS connection for both requests, as Kong's proxy_ssl_client
    const agent = new Agent({keepAlive: true, maxSockets: 1, rejectUnauthorized: false})
    const get = (path: string) =>
      new Promise<{status: number; reused: boolean}>((resolve, reject) => {
        const req = httpsRequest({host: '127.0.0.1', port: node.proxySslPort, path, agent}, (res) => {
          res.resume()
          res.on('end', () => resolve({status: res.statusCode ?? 0, reused: req.reusedSocket}))
        })
        req.on('error', reject)
        req.end()
      })
    try {
      const first = await get('/route-1/status/200')
      assert.equal(first.status, 201)
      const second = await get('/route-2/status/200')
      assert.equal(second.status, 200)
      assert.equal(second.reused, true, 'the second request went over the first one\'s connection')
    } finally {
      agent.destroy()
    }
  })
})
