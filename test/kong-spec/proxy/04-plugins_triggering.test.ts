/**
 * Kong's spec/02-integration/05-proxy/04-plugins_triggering_spec.lua (3.9), ported: the same
 * describe/it titles and assertions, against a real node (Admin API over Postgres, its
 * proxy, Kong's mock upstream), strategy `postgres`. Where Kong truncates the tables and
 * restarts, the entities are deleted through the Admin API (the proxy rebuilds on every
 * write).
 *
 * Kong's test plugins (`dummy`, `error-generator`, `error-handler-log`, `short-circuit`,
 * `init-worker-lua-error`) and `pre-function` are not bundled. Where a case is about a
 * phase running, a bundled plugin with that phase stands in: response-transformer for
 * `dummy`'s header and body filters (a header, a JSON key). The cases that need the test
 * plugins' own behaviour are skipped, saying why. file-log writes the log lines, as in Kong.
 *
 * Node's parser takes a head of up to 16 KiB in all, where nginx refuses any line over its
 * 8 KiB buffers (`large_client_header_buffers`): a request line over 8 KiB is refused with
 * nginx's 414 all the same, but a header line is refused only once the head is over
 * Node's limit; the HTTP 400 cases send a 20 KiB header where Kong's send 10 KiB.
 */
import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {Agent, request as httpsRequest} from 'node:https'
import {connect} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, afterEach, before, beforeEach, describe, test as it} from 'node:test'
import {startBlackhole} from '../../proxy/blackhole.js'
import {deadPort} from '../../proxy/helpers.js'
import {until} from '../../helpers/until.js'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from '../plugins/kong-proxy.js'

const strategy = 'postgres'
const TEST_PLUGIN = (name: string) => `Kong's test plugin \`${name}\` is not bundled`
const LOGS = mkdtempSync(join(tmpdir(), 'kctl-plugins-triggering-'))
/** Kong's `os.tmpname()` of a describe. */
let fileLogSeq = 0
const fileLogPath = () => join(LOGS, `file-log-${++fileLogSeq}.log`)

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

/** Kong's `find_log_line`: the first entry of the client 127.0.0.1 with that X-UUID (when given) that passes `customCheck`. */
function findLogLine(path: string, uuid: string | null, customCheck?: (logMessage: any) => boolean): any {
  if (!existsSync(path)) return false
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue
    const logMessage = JSON.parse(line)
    if (logMessage.client_ip !== '127.0.0.1') continue
    if (uuid && logMessage.request.headers['x-uuid'] !== uuid) continue
    if (customCheck && !customCheck(logMessage)) continue
    return logMessage
  }
  return false
}

/** Kong's `wait_for_log_line`. */
const waitForLogLine = (path: string, uuid: string | null, customCheck?: (logMessage: any) => boolean) =>
  until(`a log line${uuid ? ` of ${uuid}` : ''} in ${path}`, () => findLogLine(path, uuid, customCheck))

/**
 * Kong's `proxy_client:send` of a request the proxy refuses before reading it all: written
 * on a connection of its own, the answer read until the proxy closes it.
 */
function sendRaw(port: number, method: string, path: string, headers: Record<string, string>): Promise<{status: number; text: string}> {
  const head = `${method} ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(head))
    const chunks: Buffer[] = []
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', reject)
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1')
      resolve({status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text})
    })
  })
}

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
    rmSync(LOGS, {recursive: true, force: true})
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
    const FILE_LOG_PATH = fileLogPath()
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
        // log phase plugin
        await bp.plugins.insert({name: 'file-log', route: {id: route.id}, config: {path: FILE_LOG_PATH}})
      }
      // Kong's `example_err` route is left out: its plugin is Kong's test plugin `dummy`
    })
    // Kong's `helpers.clean_logfile`: the file emptied (the plugin keeps it open)
    beforeEach(() => writeFileSync(FILE_LOG_PATH, ''))

    it('execute a log plugin', async () => {
      const uuid = crypto.randomUUID()
      const res = await get('/status/200', 'mock_upstream', {'X-UUID': uuid}) // /!\ no key credential
      resStatus(401, res)
      // TEST: ensure that our logging plugin was executed and wrote
      // something to disk.
      await waitForLogLine(FILE_LOG_PATH, uuid)
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
    const FILE_LOG_PATH = fileLogPath()
    before(async () => {
      await truncate(node)
      const bp = node.bp
      const fileLog = (service?: {id: string}) => bp.plugins.insert({name: 'file-log', ...(service ? {service: {id: service.id}} : {}), config: {path: FILE_LOG_PATH, reopen: true}})
      // service to mock HTTP 502: a loopback port nobody listens on
      const refused = await bp.services.insert({name: 'conn_refused', host: '127.0.0.1', port: await deadPort()})
      await bp.routes.insert({hosts: ['refused'], protocols: ['http'], service: {id: refused.id}})
      await fileLog(refused)
      // service to mock HTTP 503
      const unavailable = await bp.services.insert({name: 'unavailable'})
      await bp.routes.insert({hosts: ['unavailable'], protocols: ['http'], service: {id: unavailable.id}})
      await fileLog(unavailable)
      // service to mock HTTP 504: a loopback port whose accept queue is full
      const blackhole = await startBlackhole({after: (fn) => cleanups.push(fn)})
      const timeout = await bp.services.insert({name: 'timeout', host: '127.0.0.1', port: blackhole.port, connect_timeout: 1})
      await bp.routes.insert({hosts: ['connect_timeout'], protocols: ['http'], service: {id: timeout.id}})
      await fileLog(timeout)
      // Kong's `runtime_exception` service is left out: its plugin is `pre-function` (Lua)
      // global plugin to catch Nginx-produced client errors (Kong's `error-handler-log` is left out)
      await fileLog()
    })
    beforeEach(() => writeFileSync(FILE_LOG_PATH, ''))
    afterEach(() => rmSync(FILE_LOG_PATH, {force: true}))

    it('executes a log plugin on Bad Gateway (HTTP 502)', async () => {
      // triggers error_page directive
      const uuid = crypto.randomUUID()
      const res = await get('/status/200', 'refused', {'X-UUID': uuid})
      resStatus(502, res) // Bad Gateway
      // TEST: ensure that our logging plugin was executed and wrote
      // something to disk.
      await waitForLogLine(FILE_LOG_PATH, uuid)
    })

    it('log plugins sees same request in error_page handler (HTTP 502)', async () => {
      // triggers error_page directive
      const uuid = crypto.randomUUID()
      const res = await node.proxy.post('/status/200?foo=bar', {headers: {Host: 'refused', 'X-UUID': uuid}})
      resStatus(502, res) // Bad Gateway
      // TEST: ensure that our logging plugin was executed and wrote
      // something to disk.
      await waitForLogLine(FILE_LOG_PATH, uuid, (logMessage) =>
        logMessage.request.headers.host === 'refused' &&
        logMessage.request.method === 'POST' &&
        logMessage.request.querystring.foo === 'bar' &&
        logMessage.upstream_uri === '/status/200?foo=bar')
    })

    it('executes a log plugin on Service Unavailable (HTTP 503)', async () => {
      // Does not trigger error_page directive (no proxy_intercept_errors)
      const uuid = crypto.randomUUID()
      const res = await get('/status/503', 'unavailable', {'X-UUID': uuid})
      resStatus(503, res) // Service Unavailable
      // TEST: ensure that our logging plugin was executed and wrote
      // something to disk.
      await waitForLogLine(FILE_LOG_PATH, uuid)
    })

    it('executes a log plugin on Gateway Timeout (HTTP 504)', async () => {
      // triggers error_page directive
      const uuid = crypto.randomUUID()
      const res = await get('/status/200', 'connect_timeout', {'X-UUID': uuid})
      resStatus(504, res) // Gateway Timeout
      // TEST: ensure that our logging plugin was executed and wrote
      // something to disk.
      await waitForLogLine(FILE_LOG_PATH, uuid)
    })

    it('log plugins sees same request in error_page handler (HTTP 504)', async () => {
      // triggers error_page directive
      const uuid = crypto.randomUUID()
      const res = await node.proxy.post('/status/200?foo=bar', {headers: {Host: 'connect_timeout', 'X-UUID': uuid}})
      resStatus(504, res) // Gateway Timeout
      // TEST: ensure that our logging plugin was executed and wrote
      // something to disk.
      await waitForLogLine(FILE_LOG_PATH, uuid, (logMessage) =>
        logMessage.request.headers.host === 'connect_timeout' &&
        logMessage.request.method === 'POST' &&
        logMessage.request.querystring.foo === 'bar' &&
        logMessage.upstream_uri === '/status/200?foo=bar')
    })

    // Kong: `2^10 * 10`, over nginx's 8k line; here over Node's 16 KiB head (see the top)
    const LARGE_HEADER = 'a'.repeat(2 ** 10 * 20)

    it('executes a global log plugin on Nginx-produced client errors (HTTP 400)', async () => {
      // triggers error_page directive
      const uuid = crypto.randomUUID()
      const res = await sendRaw(node.proxyPort, 'GET', '/', {Host: 'unavailable', 'X-Large': LARGE_HEADER, 'X-UUID': uuid})
      assert.equal(res.status, 400, res.text)
      // TEST: ensure that our logging plugin was executed and wrote
      // something to disk.
      await waitForLogLine(FILE_LOG_PATH, null, (logMessage) => logMessage.response.status === 400)
    })

    it('log plugins sees same request in error_page handler (HTTP 400)', async () => {
      // triggers error_page directive
      const uuid = crypto.randomUUID()
      const res = await sendRaw(node.proxyPort, 'POST', '/status/200?foo=bar', {Host: 'unavailable', 'X-Large': LARGE_HEADER, 'X-UUID': uuid})
      assert.equal(res.status, 400, res.text)
      // TEST: ensure that our logging plugin was executed and wrote
      // something to disk.
      await waitForLogLine(FILE_LOG_PATH, null, (logMessage) =>
        logMessage.request.method === 'POST' &&
        logMessage.request.querystring.foo === 'bar' &&
        logMessage.upstream_uri === '') // no URI here since Nginx could not parse request
    })

    it('executes a global log plugin on Nginx-produced client errors (HTTP 414)', async () => {
      // triggers error_page directive
      const uuid = crypto.randomUUID()
      const res = await sendRaw(node.proxyPort, 'GET', `/?foo=${'a'.repeat(2 ** 10 * 10)}`, {Host: 'unavailable', 'X-UUID': uuid})
      assert.equal(res.status, 414, res.text)
      // TEST: ensure that our logging plugin was executed and wrote
      // something to disk.
      await waitForLogLine(FILE_LOG_PATH, null, (logMessage) =>
        Object.keys(logMessage.request.headers).length === 0 &&
        logMessage.response.status === 414)
    })

    it('log plugins sees same request in error_page handler (HTTP 414)', async () => {
      // triggers error_page directive
      const uuid = crypto.randomUUID()
      const res = await sendRaw(node.proxyPort, 'POST', `/?foo=${'a'.repeat(2 ** 10 * 10)}`, {Host: 'unavailable', 'X-UUID': uuid})
      assert.equal(res.status, 414, res.text)
      // TEST: ensure that our logging plugin was executed and wrote
      // something to disk.
      await waitForLogLine(FILE_LOG_PATH, null, (logMessage) =>
        logMessage.request.method === 'POST' &&
        logMessage.upstream_uri === '' && // no URI here since Nginx could not parse request
        logMessage.request.headers['x-uuid'] === undefined && // none since Nginx could not parse request
        logMessage.request.headers.host === undefined) // none as well
    })

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
