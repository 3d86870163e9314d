import assert from 'node:assert/strict'
import {Agent, request} from 'node:http'
import {before, describe, test} from 'node:test'
import {route, service} from '../router/fixtures.js'
import {get, startProxy, startUpstream} from '../proxy/helpers.js'
import {until} from '../helpers/until.js'
import {consumer, keyCred, plugin} from './fixtures.js'

async function setup(t: any, plugins: Array<(r: string) => any>, extra: Record<string, unknown[]> = {}) {
  const up = await startUpstream(t, 'a')
  const s = service({url: `http://127.0.0.1:${up.port}`})
  const r = route({paths: ['/'], service: {id: s.id}})
  const {port} = await startProxy(t, {services: [s], routes: [r], plugins: plugins.map((p) => p(r.id)), ...extra} as any)
  return {port, up}
}

describe('plugins: rate-limiting (local)', () => {
  // The budgets are per clock minute: a test that straddles a minute's end would see its
  // counts reset. These tests take a few seconds in all; start them with 20 s of the minute left.
  before(() => until('a minute with 20 s left', () => new Date().getSeconds() < 40, {timeoutMs: 25_000, intervalMs: 100}))

  test('counts per minute, then 429 with Kong headers and body', async (t) => {
    const {port, up} = await setup(t, [() => plugin('rate-limiting', {minute: 3, hour: 10, policy: 'local', limit_by: 'ip'})])
    for (let i = 0; i < 3; i++) {
      const r = await get(port, '/')
      assert.equal(r.status, 200)
      assert.equal(r.headers['x-ratelimit-limit-minute'], '3')
      assert.equal(r.headers['x-ratelimit-remaining-minute'], String(2 - i))
      assert.equal(r.headers['x-ratelimit-limit-hour'], '10')
      assert.equal(r.headers['ratelimit-limit'], '3')
      assert.equal(r.headers['ratelimit-remaining'], String(2 - i))
      assert.match(String(r.headers['ratelimit-reset']), /^\d+$/)
    }
    const over = await get(port, '/')
    assert.equal(over.status, 429)
    assert.equal(over.json().message, 'API rate limit exceeded')
    assert.equal(over.headers['x-ratelimit-remaining-minute'], '0')
    assert.match(String(over.headers['retry-after']), /^\d+$/)
    assert.equal(up.hits(), 3)
  })

  test('limit_by consumer keeps separate counters; hide_client_headers; error_code/message', async (t) => {
    const a = consumer('a')
    const b = consumer('b')
    const {port} = await setup(t, [() => plugin('key-auth'), () => plugin('rate-limiting', {minute: 1, hour: 100, hide_client_headers: true, error_code: 420, error_message: 'calm down'})], {
      consumers: [a, b],
      keyauth_credentials: [keyCred(a, 'ka'), keyCred(b, 'kb')],
    })
    const first = await get(port, '/', {headers: {apikey: 'ka'}})
    assert.equal(first.status, 200)
    assert.equal(first.headers['x-ratelimit-limit-minute'], undefined)
    const second = await get(port, '/', {headers: {apikey: 'ka'}})
    assert.equal(second.status, 420)
    assert.equal(second.json().message, 'calm down')
    assert.equal((await get(port, '/', {headers: {apikey: 'kb'}})).status, 200)
  })

  test('limit_by header counts per header value', async (t) => {
    const {port} = await setup(t, [() => plugin('rate-limiting', {minute: 1, limit_by: 'header', header_name: 'x-tenant'})])
    assert.equal((await get(port, '/', {headers: {'x-tenant': 'a'}})).status, 200)
    assert.equal((await get(port, '/', {headers: {'x-tenant': 'a'}})).status, 429)
    assert.equal((await get(port, '/', {headers: {'x-tenant': 'b'}})).status, 200)
  })

  test('limit_by credential: a budget per credential, even of one consumer; the client IP without one', async (t) => {
    const a = consumer('a')
    const auth = await setup(t, [() => plugin('key-auth'), () => plugin('rate-limiting', {minute: 1, limit_by: 'credential'})], {
      consumers: [a],
      keyauth_credentials: [keyCred(a, 'ka1'), keyCred(a, 'ka2')],
    })
    const as = (key: string) => get(auth.port, '/', {headers: {apikey: key}}).then((r) => r.status)
    assert.deepEqual([await as('ka1'), await as('ka1'), await as('ka2'), await as('ka2')], [200, 429, 200, 429])
    assert.equal(auth.up.hits(), 2)
    const open = await setup(t, [() => plugin('rate-limiting', {minute: 1, limit_by: 'credential'})])
    assert.deepEqual([(await get(open.port, '/')).status, (await get(open.port, '/')).status], [200, 429])
  })

  // [path, status]: one budget per service, across its routes (a global instance keys
  // its counters by no route, as Kong's).
  test('limit_by service: the routes of a service share its budget; another service has its own', async (t) => {
    const up = await startUpstream(t, 'a')
    const s1 = service({url: `http://127.0.0.1:${up.port}`})
    const s2 = service({url: `http://127.0.0.1:${up.port}`})
    const routes = [route({paths: ['/a'], service: {id: s1.id}}), route({paths: ['/b'], service: {id: s1.id}}), route({paths: ['/c'], service: {id: s2.id}})]
    const {port} = await startProxy(t, {services: [s1, s2], routes, plugins: [plugin('rate-limiting', {minute: 2, limit_by: 'service'})]} as any)
    const seen: Array<[string, number, string | undefined]> = []
    for (const path of ['/a', '/b', '/a', '/b', '/c', '/c', '/c']) {
      const r = await get(port, path)
      seen.push([path, r.status, r.headers['x-ratelimit-remaining-minute'] as string | undefined])
    }
    assert.deepEqual(seen, [['/a', 200, '1'], ['/b', 200, '0'], ['/a', 429, '0'], ['/b', 429, '0'], ['/c', 200, '1'], ['/c', 200, '0'], ['/c', 429, '0']])
  })

  test('limit_by path: the configured path has its own budget; other paths count per client IP', async (t) => {
    const up = await startUpstream(t, 'a')
    const s = service({url: `http://127.0.0.1:${up.port}`})
    const r = route({paths: ['/'], service: {id: s.id}})
    const {port} = await startProxy(t, {services: [s], routes: [r], plugins: [plugin('rate-limiting', {minute: 1, limit_by: 'path', path: '/metered'})]} as any)
    const status = async (path: string) => (await get(port, path)).status
    assert.deepEqual([await status('/metered'), await status('/metered?page=2'), await status('/other'), await status('/another')], [200, 429, 200, 429])
    assert.equal(up.hits(), 2)
  })

  test("a global instance is one budget across routes; route instances keep their own (Kong's keys)", async (t) => {
    const up = await startUpstream(t, 'a')
    const s = service({url: `http://127.0.0.1:${up.port}`})
    const [a, b, c] = ['/a', '/b', '/c'].map((p) => route({paths: [p], service: {id: s.id}}))
    const {port} = await startProxy(t, {
      services: [s],
      routes: [a, b, c],
      plugins: [plugin('rate-limiting', {minute: 2, limit_by: 'ip'}), plugin('rate-limiting', {minute: 1, limit_by: 'ip'}, {route: c.id})],
    } as any)
    const status = async (path: string) => (await get(port, path)).status
    assert.deepEqual([await status('/a'), await status('/b'), await status('/a'), await status('/c'), await status('/c')], [200, 200, 429, 200, 429])
  })
})

describe('plugins: request-termination', () => {
  test('default 503 with the Kong body; raw body; trigger', async (t) => {
    const {port} = await setup(t, [() => plugin('request-termination')])
    const r = await get(port, '/')
    assert.equal(r.status, 503)
    assert.equal(r.json().message, 'Service unavailable')
    const s2 = await setup(t, [() => plugin('request-termination', {status_code: 200, body: '<h1>down</h1>', content_type: 'text/html'})])
    const raw = await get(s2.port, '/')
    assert.equal(raw.body, '<h1>down</h1>')
    assert.equal(raw.headers['content-type'], 'text/html')
    const s3 = await setup(t, [() => plugin('request-termination', {trigger: 'x-stop', status_code: 403, message: 'stopped'})])
    assert.equal((await get(s3.port, '/')).status, 200)
    assert.equal((await get(s3.port, '/', {headers: {'x-stop': '1'}})).json().message, 'stopped')
    assert.equal((await get(s3.port, '/?x-stop')).status, 403)
  })

  test('echo reflects the request', async (t) => {
    const {port} = await setup(t, [() => plugin('request-termination', {echo: true, status_code: 404})])
    const r = await get(port, '/p?q=1', {headers: {'x-a': 'b'}})
    assert.equal(r.status, 404)
    assert.equal(r.json().message, 'Not found')
    assert.equal(r.json().request.path, '/p')
    assert.equal(r.json().request.query.q, '1')
    assert.equal(r.json().request.headers['x-a'], 'b')
  })
})

describe('plugins: correlation-id', () => {
  test('adds an id upstream, keeps the client one, echoes downstream', async (t) => {
    const {port} = await setup(t, [() => plugin('correlation-id', {echo_downstream: true})])
    const r = await get(port, '/')
    const id = r.json().headers['kong-request-id']
    assert.match(id, /^[0-9a-f-]{36}#\d+$/)
    assert.equal(r.headers['kong-request-id'], id)
    const kept = await get(port, '/', {headers: {'kong-request-id': 'mine'}})
    assert.equal(kept.json().headers['kong-request-id'], 'mine')
  })

  test("tracker: Kong's server address-port-pid-connection-requests on it-time, counted per connection", async (t) => {
    const {port} = await setup(t, [() => plugin('correlation-id', {generator: 'tracker'})])
    const tracker = async (agent: Agent) => {
      const body = await new Promise<string>((resolve, reject) => {
        request({host: '127.0.0.1', port, path: '/', agent}, (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c) => chunks.push(c))
          res.on('end', () => resolve(Buffer.concat(chunks).toString()))
        }).on('error', reject).end()
      })
      const m = /^(127\.0\.0\.1)-(\d+)-(\d+)-(\d+)-(\d+)-(\d{10}\.\d{3})$/.exec(JSON.parse(body).headers['kong-request-id'])
      assert.ok(m, body)
      return {port: Number(m[2]), pid: Number(m[3]), serial: Number(m[4]), requests: Number(m[5]), time: Number(m[6])}
    }
    const one = new Agent({keepAlive: true, maxSockets: 1})
    const other = new Agent({keepAlive: true, maxSockets: 1})
    t.after(() => (one.destroy(), other.destroy()))
    const first = await tracker(one)
    const second = await tracker(one)
    const third = await tracker(other)
    assert.equal(first.port, port)
    assert.ok(first.pid > 0)
    assert.ok(Math.abs(first.time - Date.now() / 1000) < 60)
    // the same keep-alive connection: same serial, one request more
    assert.deepEqual([second.serial, second.requests], [first.serial, 2])
    assert.equal(first.requests, 1)
    // another connection: another serial, counted from 1
    assert.notEqual(third.serial, first.serial)
    assert.equal(third.requests, 1)
  })
})
