/**
 * Kong's target health endpoints over a real Postgres, with the proxy every write
 * rebuilds (as on a traditional node), on a control plane (no proxy), and with
 * several worker processes (no one answer).
 */
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {silentLogger} from '../../src/runtime/kit/log.js'
import {createWorkerPool} from '../../src/runtime/workers/pool.js'
import type {NodeConf} from '../../src/runtime/conf/defaults.js'
import {startTestAdmin, type TestAdmin} from '../helpers/gateway.js'
import {startTestPostgres, type TestPostgres} from '../helpers/postgres.js'
import {startTestDnsServer, type TestDnsServer} from '../helpers/dns-server.js'
import {NameResolver} from '../../src/runtime/proxy/dns.js'

const NODE_ID = '00000000-0000-4000-8000-000000000001'
const PASSIVE = {passive: {healthy: {successes: 1}, unhealthy: {tcp_failures: 1, http_failures: 1, timeouts: 1}}}

let pg: TestPostgres
let api: TestAdmin
let cp: TestAdmin

before(async () => {
  pg = await startTestPostgres()
  api = await startTestAdmin(pg, {proxy: true})
  cp = await startTestAdmin(pg)
})
after(async () => {
  await api?.close()
  await cp?.close()
  await pg?.stop()
})

async function upstreamWithTargets(admin: TestAdmin, name: string, targets: string[]): Promise<{upstream: any; targets: any[]}> {
  const upstream = (await admin.call('POST', '/upstreams', {name})).body
  const created = []
  for (const t of targets) {
    const r = await admin.call('POST', `/upstreams/${name}/targets`, {target: t, weight: 10})
    assert.equal(r.status, 201)
    created.push(r.body)
  }
  return {upstream, targets: created}
}

describe('GET /upstreams/{upstream}/health', () => {
  test('checks off: every target HEALTHCHECKS_OFF, with Kong\'s target status', async () => {
    const {targets} = await upstreamWithTargets(api, 'off.health', ['127.0.0.1:8201', 'localhost:8202'])
    const r = await api.call('GET', '/upstreams/off.health/health')
    assert.equal(r.status, 200)
    assert.equal(r.body.node_id, NODE_ID)
    assert.equal(r.body.next, null)
    assert.equal(r.body.data.length, 2)
    const byTarget = Object.fromEntries(r.body.data.map((t: any) => [t.target, t]))
    for (const t of targets) {
      assert.equal(byTarget[t.target].id, t.id)
      assert.equal(byTarget[t.target].health, 'HEALTHCHECKS_OFF')
    }
    assert.deepEqual(byTarget['127.0.0.1:8201'].data, {
      host: '127.0.0.1', port: 8201, dns: 'A', nodeWeight: 10,
      weight: {total: 10, unavailable: 0, available: 10},
      addresses: [{ip: '127.0.0.1', port: 8201, weight: 10, health: 'HEALTHCHECKS_OFF'}],
    })
    assert.equal((await api.call('GET', '/upstreams/nope/health')).status, 404)
    assert.equal((await api.call('POST', '/upstreams/off.health/health')).status, 405)
  })

  test('pages like the targets list, with next pointing at /health', async () => {
    await upstreamWithTargets(api, 'paged.health', ['127.0.0.1:8211', '127.0.0.1:8212', '127.0.0.1:8213'])
    const first = await api.call('GET', '/upstreams/paged.health/health?size=2')
    assert.equal(first.body.data.length, 2)
    assert.match(first.body.next, /^\/upstreams\/paged\.health\/health\?offset=[^&]+$/)
    const second = await api.call('GET', first.body.next)
    assert.equal(second.body.data.length, 1)
    assert.equal(second.body.next, null)
  })

  test('?balancer_health=1: the balancer, Kong\'s shape', async () => {
    const {upstream} = await upstreamWithTargets(api, 'bal.health', ['127.0.0.1:8221', '127.0.0.1:8222'])
    let r = await api.call('GET', '/upstreams/bal.health/health?balancer_health=1')
    assert.equal(r.status, 200)
    assert.deepEqual({...r.body, data: {...r.body.data, details: undefined}}, {
      data: {health: 'HEALTHCHECKS_OFF', balancer_health: 'HEALTHY', id: upstream.id, details: undefined},
      next: null,
      node_id: NODE_ID,
    })
    await api.call('PATCH', '/upstreams/bal.health', {healthchecks: PASSIVE})
    assert.equal((await api.call('PUT', '/upstreams/bal.health/targets/127.0.0.1:8221/unhealthy')).status, 204)
    r = await api.call('GET', '/upstreams/bal.health/health?balancer_health=1')
    assert.equal(r.body.data.health, 'HEALTHY')
    assert.deepEqual(r.body.data.details.weight, {total: 20, unavailable: 10, available: 10})
    const hosts = Object.fromEntries(r.body.data.details.hosts.map((h: any) => [h.port, h.addresses[0].healthy]))
    assert.deepEqual(hosts, {8221: false, 8222: true})
    assert.equal((await api.call('PUT', '/upstreams/bal.health/targets/127.0.0.1:8222/unhealthy')).status, 204)
    r = await api.call('GET', '/upstreams/bal.health/health?balancer_health=1')
    assert.equal(r.body.data.health, 'UNHEALTHY')
    assert.equal(r.body.data.details.healthy, false)
  })
})

describe('weights: a target weighs its weight once per address its name resolved to, as Kong\'s balancer', () => {
  let dns: TestDnsServer
  let named: TestAdmin
  before(async () => {
    dns = await startTestDnsServer({'arecord.test': ['127.0.0.2', '127.0.0.3']})
    named = await startTestAdmin(pg, {proxy: true, proxyOptions: {dns: new NameResolver({hosts: new Map(), servers: [dns.address], validTtl: null, staleTtl: 3600, notFoundTtl: 30, errorTtl: 1})}})
  })
  after(async () => {
    await named?.close()
    await dns?.close()
  })

  // Kong's spec/01-unit/09-balancer/01-generic_spec.lua, "(A) adding a host": an IP target
  // of weight 100, then a name with two A records at weight 25
  const ipHost = {
    host: '127.0.0.1', port: 8000, dns: 'A', nodeWeight: 100,
    weight: {total: 100, available: 100, unavailable: 0},
    addresses: [{healthy: true, ip: '127.0.0.1', port: 8000, weight: 100}],
  }
  const aHost = (healthy: boolean) => ({
    host: 'arecord.test', port: 8001, dns: 'A', nodeWeight: 25,
    weight: healthy ? {total: 50, available: 50, unavailable: 0} : {total: 50, available: 0, unavailable: 50},
    addresses: [{healthy, ip: '127.0.0.2', port: 8001, weight: 25}, {healthy, ip: '127.0.0.3', port: 8001, weight: 25}],
  })

  test('?balancer_health=1: details.weight sums every address of every target (Kong\'s getStatus)', async () => {
    await named.call('POST', '/upstreams', {name: 'weights.health', healthchecks: PASSIVE})
    assert.equal((await named.call('POST', '/upstreams/weights.health/targets', {target: '127.0.0.1:8000', weight: 100})).status, 201)
    let r = await named.call('GET', '/upstreams/weights.health/health?balancer_health=1')
    assert.deepEqual(r.body.data.details, {healthy: true, weight: {total: 100, available: 100, unavailable: 0}, hosts: [ipHost]})
    assert.equal((await named.call('POST', '/upstreams/weights.health/targets', {target: 'arecord.test:8001', weight: 25})).status, 201)
    r = await named.call('GET', '/upstreams/weights.health/health?balancer_health=1')
    assert.deepEqual(r.body.data.details, {healthy: true, weight: {total: 150, available: 150, unavailable: 0}, hosts: [ipHost, aHost(true)]})

    // kctl keeps health per target: the name's addresses go unavailable together
    assert.equal((await named.call('PUT', '/upstreams/weights.health/targets/arecord.test:8001/unhealthy')).status, 204)
    r = await named.call('GET', '/upstreams/weights.health/health?balancer_health=1')
    assert.deepEqual(r.body.data.details, {healthy: true, weight: {total: 150, available: 100, unavailable: 50}, hosts: [ipHost, aHost(false)]})

    // GET /health: each target's data.weight is its own share of that total
    const page = await named.call('GET', '/upstreams/weights.health/health')
    const byTarget = Object.fromEntries(page.body.data.map((t: any) => [t.target, t]))
    assert.equal(byTarget['arecord.test:8001'].health, 'UNHEALTHY')
    assert.deepEqual(byTarget['arecord.test:8001'].data.weight, {total: 50, available: 0, unavailable: 50})
    assert.deepEqual(byTarget['127.0.0.1:8000'].data.weight, {total: 100, available: 100, unavailable: 0})
  })

  test('a name that does not resolve weighs nothing: alone, the balancer is UNHEALTHY (Kong: no address, no weight)', async () => {
    await named.call('POST', '/upstreams', {name: 'nowhere.health'})
    assert.equal((await named.call('POST', '/upstreams/nowhere.health/targets', {target: 'nowhere.test:8001', weight: 10})).status, 201)
    let r = await named.call('GET', '/upstreams/nowhere.health/health?balancer_health=1')
    assert.equal(r.body.data.balancer_health, 'UNHEALTHY')
    assert.deepEqual(r.body.data.details.weight, {total: 0, available: 0, unavailable: 0})
    assert.deepEqual(r.body.data.details.hosts[0].weight, {total: 0, available: 0, unavailable: 0})
    assert.deepEqual(r.body.data.details.hosts[0].addresses, [])
    assert.equal((await named.call('POST', '/upstreams/nowhere.health/targets', {target: 'arecord.test:8002', weight: 10})).status, 201)
    r = await named.call('GET', '/upstreams/nowhere.health/health?balancer_health=1')
    assert.equal(r.body.data.balancer_health, 'HEALTHY')
    assert.deepEqual(r.body.data.details.weight, {total: 20, available: 20, unavailable: 0})
  })
})

describe('PUT /upstreams/{upstream}/targets/{target}/healthy|unhealthy', () => {
  test('checks off: 400 with Kong\'s message', async () => {
    await upstreamWithTargets(api, 'nohc.health', ['127.0.0.1:8231'])
    const r = await api.call('PUT', '/upstreams/nohc.health/targets/127.0.0.1:8231/unhealthy')
    assert.equal(r.status, 400)
    assert.deepEqual(r.body, {message: 'no healthchecker found for nohc.health'})
  })

  test('flips a target by address, by id, and through the {address} form; 404 for what does not match', async () => {
    const {upstream, targets: [t]} = await upstreamWithTargets(api, 'flip.health', ['127.0.0.1:8192'])
    const other = await upstreamWithTargets(api, 'other.health', ['127.0.0.1:8193'])
    assert.equal((await api.call('PATCH', `/upstreams/${upstream.id}`, {healthchecks: PASSIVE})).status, 200)
    const health = async () => (await api.call('GET', `/upstreams/${upstream.id}/health`)).body.data[0].health
    assert.equal(await health(), 'HEALTHY')

    assert.equal((await api.call('PUT', `/upstreams/flip.health/targets/${t.target}/unhealthy`)).status, 204)
    assert.equal(await health(), 'UNHEALTHY')
    assert.equal((await api.call('PUT', `/upstreams/${upstream.id}/targets/${t.id}/healthy`)).status, 204)
    assert.equal(await health(), 'HEALTHY')
    assert.equal((await api.call('PUT', `/upstreams/flip.health/targets/${t.target}/127.0.0.1:8192/unhealthy`)).status, 204)
    assert.equal(await health(), 'UNHEALTHY')
    assert.equal((await api.call('PUT', `/upstreams/flip.health/targets/${t.target}/10.9.9.9/healthy`)).status, 204, 'another address: not in the list, a no-op')
    assert.equal(await health(), 'UNHEALTHY')
    assert.equal((await api.call('PUT', `/upstreams/flip.health/targets/${t.target}/healthy`)).status, 204)
    assert.equal(await health(), 'HEALTHY')
    assert.equal((await api.call('POST', `/upstreams/flip.health/targets/${t.target}/healthy`)).status, 405, 'Kong 3: PUT only')

    for (const u of ['00000000-0000-4000-8000-0000000000ff', 'invalid', 'flip.health', upstream.id]) {
      for (const tk of ['00000000-0000-4000-8000-0000000000fe', 'invalid:1234', other.targets[0].id, t.target, t.id]) {
        const ok = (u === 'flip.health' || u === upstream.id) && (tk === t.target || tk === t.id)
        const r = await api.call('PUT', `/upstreams/${u}/targets/${tk}/unhealthy`)
        assert.equal(r.status, ok ? 204 : 404, `${u} ${tk}`)
      }
    }
  })
})

describe('where kctl has no one answer', () => {
  test('control plane: targets without health; no healthy/unhealthy routes', async () => {
    const {upstream} = await upstreamWithTargets(cp, 'cp.health', ['127.0.0.1:8241'])
    const r = await cp.call('GET', '/upstreams/cp.health/health')
    assert.equal(r.status, 200)
    assert.equal(r.body.data[0].target, '127.0.0.1:8241')
    assert.equal(r.body.data[0].health, undefined)
    assert.deepEqual((await cp.call('GET', `/upstreams/${upstream.id}/health?balancer_health=1`)).body, {next: null, node_id: NODE_ID})
    assert.equal((await cp.call('PUT', '/upstreams/cp.health/targets/127.0.0.1:8241/unhealthy')).status, 404)
  })

  test('several worker processes: 400 naming the limitation', async () => {
    const pool = createWorkerPool({conf: {} as NodeConf, log: silentLogger, count: 2})
    const workers = await startTestAdmin(pg, {health: pool.health()})
    try {
      await upstreamWithTargets(workers, 'w.health', ['127.0.0.1:8251'])
      for (const [method, path] of [['GET', '/upstreams/w.health/health'], ['PUT', '/upstreams/w.health/targets/127.0.0.1:8251/healthy']]) {
        const r = await workers.call(method, path)
        assert.equal(r.status, 400)
        assert.match(r.body.message, /each of the 2 proxy worker processes \(node_worker_processes = 2\)/)
      }
    } finally {
      await workers.close()
      await pool.close()
    }
  })
})
