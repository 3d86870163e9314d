/**
 * Kong's spec/03-plugins/11-correlation-id/01-access_spec.lua (3.9), ported: the same
 * describe/it titles and assertions, against a real node (Admin API over Postgres, its
 * proxy, Kong's mock upstream), strategy `postgres`. Kong's test plugin
 * (`error-generator-last`) is not bundled: those cases are skipped.
 */
import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, afterEach, before, beforeEach, describe, test as it} from 'node:test'
import {until} from '../../helpers/until.js'
import {deadPort} from '../../proxy/helpers.js'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from './kong-proxy.js'

const strategy = 'postgres'
const UUID_PATTERN = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/
const UUID_COUNTER_PATTERN = new RegExp(`${UUID_PATTERN.source}#\\d`)
const TRACKER_PATTERN = /\d+\.\d+\.\d+\.\d+-\d+-\d+-\d+-\d+-\d{10}\.\d{3}/
const LOGS = mkdtempSync(join(tmpdir(), 'kctl-correlation-id-'))
/** Kong's `os.tmpname()`. */
const FILE_LOG_PATH = join(LOGS, 'file-log.log')

/** Kong's `wait_json_log`: the first JSON entry of the log file, once there is one. */
async function waitJsonLog(): Promise<any> {
  const data = await until('the log file holds a JSON entry', () => (existsSync(FILE_LOG_PATH) ? readFileSync(FILE_LOG_PATH, 'utf8').trim() : ''))
  return JSON.parse(data.split('\n')[0])
}

describe(`Plugin: correlation-id (access) [#${strategy}]`, () => {
  let node: PluginSpecNode
  before(async () => {
    node = await startPluginSpecNode()
    const bp = node.bp
    const route = (host: string, service?: any) => bp.routes.insert({hosts: [host], ...(service ? {service} : {})})
    const route1 = await route('correlation1.test')
    const route2 = await route('correlation2.test')
    const route3 = await route('correlation3.test')
    const route4 = await route('correlation-tracker.test')
    const route5 = await route('correlation5.test')
    // Kong's 127.0.0.2:26865 answers nothing; a port nobody listens on fails the same way (502)
    const mockService = await bp.services.insert({host: '127.0.0.1', port: await deadPort()})
    const route6 = await route('correlation-timeout.test', mockService)
    const cid = (r: any, config?: Record<string, unknown>) => bp.plugins.insert({name: 'correlation-id', route: {id: r.id}, ...(config ? {config} : {})})
    await cid(route1)
    await cid(route2, {header_name: 'Foo-Bar-Id'})
    await cid(route3, {generator: 'uuid', echo_downstream: true})
    await cid(route4, {generator: 'tracker'})
    await cid(route5, {generator: 'uuid', echo_downstream: true})
    await bp.plugins.insert({name: 'request-termination', route: {id: route5.id}, config: {status_code: 418, message: "I'm a teapot"}})
    await cid(route6, {generator: 'uuid', echo_downstream: true})
    const routeSerializer = await route('correlation-serializer.test')
    await bp.plugins.insert({name: 'file-log', route: {id: routeSerializer.id}, config: {path: FILE_LOG_PATH, reopen: true}})
    await cid(routeSerializer)
  })
  after(async () => {
    await node?.close()
    rmSync(LOGS, {recursive: true, force: true})
  })
  const get = (headers: Record<string, string>) => node.proxy.get('/request', {headers})

  describe('uuid-worker generator', () => {
    it('increments the counter part', async () => {
      let json = JSON.parse(resStatus(200, await get({Host: 'correlation1.test'})))
      const id1 = json.headers['kong-request-id'] // header received by upstream (mock_upstream)
      assert.match(id1, UUID_COUNTER_PATTERN)
      json = JSON.parse(resStatus(200, await get({Host: 'correlation1.test'})))
      const id2 = json.headers['kong-request-id']
      assert.match(id2, UUID_COUNTER_PATTERN)
      assert.notEqual(id1, id2)
      // Kong: "only one nginx worker in our test instance allows us to test this"; the
      // counter is per process here and other tests of this process count too: it grows by one
      const counter1 = Number(/#(\d+)$/.exec(id1)![1])
      const counter2 = Number(/#(\d+)$/.exec(id2)![1])
      assert.equal(counter2, counter1 + 1)
    })
    it('increments the counter part #grpc', {skip: 'not yet: kctl proxies no gRPC'}, () => {})
  })

  describe('uuid generator', () => {
    it('generates a unique UUID for every request', async () => {
      const id1 = JSON.parse(resStatus(200, await get({Host: 'correlation3.test'}))).headers['kong-request-id']
      assert.match(id1, UUID_PATTERN)
      const id2 = JSON.parse(resStatus(200, await get({Host: 'correlation3.test'}))).headers['kong-request-id']
      assert.match(id2, UUID_PATTERN)
      assert.notEqual(id1, id2)
    })
  })

  describe('tracker generator', () => {
    it('generates a unique tracker id for every request', async () => {
      const id1 = JSON.parse(resStatus(200, await get({Host: 'correlation-tracker.test'}))).headers['kong-request-id']
      assert.match(id1, TRACKER_PATTERN)
      const id2 = JSON.parse(resStatus(200, await get({Host: 'correlation-tracker.test'}))).headers['kong-request-id']
      assert.match(id2, TRACKER_PATTERN)
      assert.notEqual(id1, id2)
    })
  })

  describe('config options', () => {
    it('echo_downstream sends uuid back to client', async () => {
      const res = await get({Host: 'correlation3.test'})
      const upstreamId = JSON.parse(resStatus(200, res)).headers['kong-request-id']
      const downstreamId = res.headers.get('kong-request-id')
      assert.match(upstreamId, UUID_PATTERN)
      assert.equal(downstreamId, upstreamId)
    })
    it('echo_downstream sends uuid back to client even when upstream timeouts', async () => {
      const res = await get({Host: 'correlation-timeout.test'})
      resStatus(502, res)
      assert.match(res.headers.get('kong-request-id') ?? '', UUID_PATTERN)
    })
    it('echo_downstream sends uuid back to client even there is a runtime error', {skip: "Kong's test plugin error-generator-last is not bundled"}, () => {})
    it('echo_downstream does not send uuid back to client if not asked', async () => {
      const res = await get({Host: 'correlation2.test'})
      resStatus(200, res)
      assert.equal(res.headers.get('kong-request-id'), null) // header received by downstream (client)
    })
    it('uses a custom header name', async () => {
      const json = JSON.parse(resStatus(200, await get({Host: 'correlation2.test'})))
      assert.match(json.headers['foo-bar-id'], UUID_PATTERN)
    })
  })

  it('preserves an already existing header', async () => {
    const json = JSON.parse(resStatus(200, await get({Host: 'correlation2.test', 'Kong-Request-ID': 'foobar'})))
    assert.equal(json.headers['kong-request-id'], 'foobar')
  })
  it('does not preserve an already existing empty header', async () => {
    const json = JSON.parse(resStatus(200, await get({Host: 'correlation2.test', 'Kong-Request-ID': ''})))
    assert.notEqual(json.headers['kong-request-id'], 'foobar')
  })
  it('does not preserve an already existing header with space only', async () => {
    const json = JSON.parse(resStatus(200, await get({Host: 'correlation2.test', 'Kong-Request-ID': ' '})))
    assert.notEqual(json.headers['kong-request-id'], 'foobar')
  })
  it('executes with echo_downstream when access did not execute', async () => {
    const res = await get({Host: 'correlation5.test'})
    assert.equal(res.status, 418)
    assert.match(res.headers.get('kong-request-id') ?? '', UUID_PATTERN)
  })
  it('echoes incoming with echo_downstream when access did not execute', async () => {
    const res = await get({Host: 'correlation5.test', 'kong-request-id': 'my very personal id'})
    assert.equal(res.status, 418)
    assert.equal(res.headers.get('kong-request-id'), 'my very personal id')
  })

  describe('log serializer', () => {
    beforeEach(() => rmSync(FILE_LOG_PATH, {force: true}))
    afterEach(() => rmSync(FILE_LOG_PATH, {force: true}))

    it('contains the Correlation ID', async () => {
      const correlationId = '1234'
      const r = await node.proxy.get('/', {headers: {host: 'correlation-serializer.test', 'Kong-Request-ID': correlationId}})
      resStatus(200, r)
      const jsonLog = await waitJsonLog()
      const requestId = jsonLog?.request?.id
      assert.match(requestId, /^[a-f0-9]+$/)
      assert.equal(requestId.length, 32)
      const loggedId = jsonLog?.correlation_id
      assert.equal(loggedId, correlationId)
    })
  })
})
