/**
 * Upstream health checks: Kong's counter semantics, the balancers skipping unhealthy
 * targets, and passive and active checks through a real proxy against real upstreams.
 */
import assert from 'node:assert/strict'
import {once} from 'node:events'
import net, {type AddressInfo} from 'node:net'
import {describe, test} from 'node:test'
import {createBalancer, type Peer} from '../../src/runtime/proxy/balancer/index.js'
import {thresholds} from '../../src/runtime/proxy/health/settings.js'
import {TargetHealth} from '../../src/runtime/proxy/health/target-health.js'
import {renderMetrics} from '../../src/runtime/plugins/prometheus/exporter.js'
import {recordedMetrics} from '../../src/runtime/plugins/prometheus/handler.js'
import {buildSnapshot} from '../../src/runtime/proxy/snapshot.js'
import {route, service, target, upstream} from '../router/fixtures.js'
import {plugin} from '../plugins/fixtures.js'
import {deadPort, entities, get, startProxy, startUpstream} from './helpers.js'

/** Polls `fn` every 20 ms until it is true; fails after `ms`. */
async function until(fn: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!fn()) {
    if (Date.now() > end) assert.fail(`${what} not reached within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const passiveOn = (unhealthy: Record<string, number>, successes = 0) => ({passive: {healthy: {successes}, unhealthy}})

describe('health: counters (Kong semantics)', () => {
  const u = upstream({name: 'c', healthchecks: {...passiveOn({http_failures: 2, tcp_failures: 1, timeouts: 0}, 2), active: {healthy: {successes: 1}, unhealthy: {http_failures: 1}}}})
  const passive = thresholds(u, 'passive')
  const active = thresholds(u, 'active')

  test('failures flip at their threshold; a success in between resets them; 0 disables a counter', () => {
    const h = new TargetHealth('id', 100)
    assert.equal(h.report({status: 500}, passive, 'passive'), false)
    assert.equal(h.healthy, true, 'one of two http failures: mostly healthy, still healthy')
    h.report({status: 200}, passive, 'passive') // resets the failure count
    assert.equal(h.report({status: 500}, passive, 'passive'), false)
    for (let i = 0; i < 5; i++) h.report({failure: 'timeout'}, passive, 'passive')
    assert.equal(h.healthy, true, 'timeouts = 0 counts nothing')
    assert.equal(h.report({status: 503}, passive, 'passive'), true)
    assert.equal(h.healthy, false)
  })

  test('an unhealthy target needs `successes` in a row; statuses in neither list are ignored, active or passive', () => {
    const h = new TargetHealth('id', 100)
    h.report({failure: 'tcp'}, passive, 'passive')
    assert.equal(h.healthy, false)
    h.report({status: 200}, passive, 'passive')
    h.report({failure: 'tcp'}, passive, 'passive') // resets the success count
    h.report({status: 200}, passive, 'passive')
    assert.equal(h.healthy, false)
    assert.equal(h.report({status: 201}, passive, 'passive'), true)
    assert.equal(h.healthy, true)
    assert.equal(h.report({status: 418}, passive, 'passive'), false, 'passive: in neither list, ignored')
    assert.equal(h.report({status: 418}, active, 'active'), false, 'active: in neither list, ignored (as Kong)')
    assert.equal(h.healthy, true)
    assert.equal(h.report({status: 0}, active, 'active'), true, 'no status (a bad status line): an http failure')
    assert.equal(h.healthy, false)
    assert.equal(h.set(true), true)
    assert.equal(h.healthy, true)
  })
})

describe('health: balancers skip unhealthy targets', () => {
  const u = (algorithm: string) => upstream({name: 'b', algorithm, hash_on: 'header', hash_on_header: 'x-k'})
  for (const algorithm of ['round-robin', 'least-connections', 'consistent-hashing']) {
    test(algorithm, () => {
      const up = u(algorithm)
      const b = createBalancer(up, ['a:1', 'b:1', 'c:1'].map((t) => target({upstream: {id: up.id}, target: t})))
      const down = new Set(['a:1', 'b:1'])
      for (let i = 0; i < 30; i++) assert.equal(b.pick({hashKey: `k${i}`}, undefined, down)!.host, 'c')
      const failed = new Set<Peer>([b.pick({hashKey: 'k'}, undefined, down)!])
      assert.equal(b.pick({hashKey: 'k'}, failed, down)!.host, 'c', 'the only healthy peer, even when it failed')
      assert.equal(b.pick({hashKey: 'k'}, undefined, new Set(['a:1', 'b:1', 'c:1'])), null)
    })
  }
})

describe('health: through the proxy', () => {
  test('passive: a target answering 500 is taken out; 503 when no target is left; metrics show it', async (t) => {
    const good = await startUpstream(t, 'good')
    const bad = await startUpstream(t, 'bad', (_req, res) => {
      res.writeHead(500).end()
      return true
    })
    const u = upstream({name: 'pass.pool', healthchecks: passiveOn({http_failures: 2})})
    const s = service({host: 'pass.pool'})
    const tg = (port: number) => target({upstream: {id: u.id}, target: `127.0.0.1:${port}`})
    const {proxy, port} = await startProxy(t, {
      services: [s], upstreams: [u], targets: [tg(good.port), tg(bad.port)], routes: [route({paths: ['/'], service: {id: s.id}})],
      plugins: [plugin('prometheus', {upstream_health_metrics: true})],
    })
    for (let i = 0; i < 4; i++) await get(port, '/')
    assert.equal(bad.hits(), 2, 'two 500s, then no more traffic')
    assert.equal(proxy.health.health(u.id, `127.0.0.1:${bad.port}`), 'UNHEALTHY')
    assert.equal(proxy.health.health(u.id, `127.0.0.1:${good.port}`), 'HEALTHY')
    for (let i = 0; i < 6; i++) assert.equal((await get(port, '/')).json().upstream, 'good')
    const text = renderMetrics(recordedMetrics(proxy.pluginStates), proxy.current(), (id, key) => proxy.health.health(id, key))
    assert.match(text, new RegExp(`target="127.0.0.1:${bad.port}",address="127.0.0.1:${bad.port}",state="unhealthy",subsystem="http"\\} 1`))
    assert.match(text, new RegExp(`target="127.0.0.1:${good.port}",address="127.0.0.1:${good.port}",state="healthy",subsystem="http"\\} 1`))

    proxy.health.set(u.id, `127.0.0.1:${good.port}`, false)
    const r = await get(port, '/')
    assert.equal(r.status, 503)
    assert.equal(r.json().message, 'failure to get a peer from the ring-balancer')
  })

  test('passive: a refused connection counts as a TCP failure; health survives a config swap, not a delete and re-add', async (t) => {
    const good = await startUpstream(t, 'good')
    const dead = await deadPort()
    const u = upstream({name: 'tcp.pool', healthchecks: passiveOn({tcp_failures: 1})})
    const s = service({host: 'tcp.pool', retries: 2})
    const deadTarget = target({upstream: {id: u.id}, target: `127.0.0.1:${dead}`})
    const config = {services: [s], upstreams: [u], targets: [target({upstream: {id: u.id}, target: `127.0.0.1:${good.port}`}), deadTarget], routes: [route({paths: ['/'], service: {id: s.id}})]}
    const {proxy, port} = await startProxy(t, config)
    for (let i = 0; i < 2; i++) assert.equal((await get(port, '/')).status, 200, 'the failed try is retried on the good target')
    const key = `127.0.0.1:${dead}`
    assert.equal(proxy.health.health(u.id, key), 'UNHEALTHY')
    proxy.swap(buildSnapshot(entities({...config, routes: [route({paths: ['/other'], service: {id: s.id}}), ...config.routes]})))
    assert.equal(proxy.health.health(u.id, key), 'UNHEALTHY', 'kept across a rebuild')
    proxy.swap(buildSnapshot(entities({...config, targets: [config.targets[0], target({upstream: {id: u.id}, target: key})]})))
    assert.equal(proxy.health.health(u.id, key), 'HEALTHY', 'a new target entity at the same address starts healthy')
    proxy.swap(buildSnapshot(entities({...config, upstreams: [], targets: []})))
    assert.equal(proxy.health.health(u.id, key), undefined, 'forgotten with its upstream')
  })

  test('active: http probes mark a failing target unhealthy and a recovered one healthy; they stop on close', async (t) => {
    let failing = true
    const probes: string[] = []
    const flaky = await startUpstream(t, 'flaky', (req, res) => {
      probes.push(`${req.method} ${req.url} ${req.headers.host} ${req.headers['x-probe']}`)
      res.writeHead(failing ? 500 : 200).end()
      return true
    })
    const u = upstream({
      name: 'active.pool',
      healthchecks: {active: {http_path: '/status', headers: {'x-probe': ['yes']}, healthy: {interval: 0.1, successes: 1}, unhealthy: {interval: 0.1, http_failures: 2}}},
    })
    const s = service({host: 'active.pool'})
    const {proxy} = await startProxy(t, {services: [s], upstreams: [u], targets: [target({upstream: {id: u.id}, target: `127.0.0.1:${flaky.port}`})], routes: [route({paths: ['/'], service: {id: s.id}})]})
    const key = `127.0.0.1:${flaky.port}`
    await until(() => proxy.health.health(u.id, key) === 'UNHEALTHY', 5000, 'unhealthy')
    assert.equal(probes[0], 'GET /status 127.0.0.1 yes')
    failing = false
    await until(() => proxy.health.health(u.id, key) === 'HEALTHY', 5000, 'healthy again')
    await proxy.close()
    // a probe written just before close may still reach the upstream; none may start after it
    await new Promise((r) => setTimeout(r, 100))
    const after = probes.length
    await new Promise((r) => setTimeout(r, 400))
    assert.equal(probes.length, after, 'no probe after close (probes run every 100 ms)')
  })

  test('active: a status in neither list is ignored; a bad status line is an http failure (as Kong)', async (t) => {
    const odd = await startUpstream(t, 'odd', (_req, res) => {
      res.writeHead(401).end()
      return true
    })
    let garbageProbes = 0
    const conns = new Set<net.Socket>()
    const garbage = net.createServer((c) => {
      garbageProbes++
      conns.add(c)
      c.on('close', () => conns.delete(c))
      c.on('error', () => {})
      c.end('garbage\r\n')
    })
    garbage.listen(0, '127.0.0.1')
    await once(garbage, 'listening')
    t.after(() => new Promise<void>((r) => {
      for (const c of conns) c.destroy()
      garbage.close(() => r())
    }))
    const garbagePort = (garbage.address() as AddressInfo).port
    const u = upstream({name: 'odd.pool', healthchecks: {active: {healthy: {interval: 0.05}, unhealthy: {interval: 0.05, http_failures: 1}}}})
    const s = service({host: 'odd.pool'})
    const tg = (p: number) => target({upstream: {id: u.id}, target: `127.0.0.1:${p}`})
    const {proxy} = await startProxy(t, {services: [s], upstreams: [u], targets: [tg(odd.port), tg(garbagePort)], routes: [route({paths: ['/'], service: {id: s.id}})]})
    // a round starts after the previous one reported: a second connection means the first probe counted
    await until(() => odd.hits() >= 3 && garbageProbes >= 2, 5000, 'probes')
    assert.equal(proxy.health.health(u.id, `127.0.0.1:${garbagePort}`), 'UNHEALTHY', 'tcp_failures is 0: only an http failure can count')
    assert.equal(proxy.health.health(u.id, `127.0.0.1:${odd.port}`), 'HEALTHY', '401 is in neither list')
  })

  test('active: tcp probes mark a target nobody listens on unhealthy', async (t) => {
    const good = await startUpstream(t, 'good')
    const dead = await deadPort()
    const u = upstream({name: 'tcpcheck.pool', healthchecks: {active: {type: 'tcp', healthy: {interval: 0.1}, unhealthy: {interval: 0.1, tcp_failures: 1}}}})
    const s = service({host: 'tcpcheck.pool'})
    const tg = (p: number) => target({upstream: {id: u.id}, target: `127.0.0.1:${p}`})
    const {proxy} = await startProxy(t, {services: [s], upstreams: [u], targets: [tg(good.port), tg(dead)], routes: [route({paths: ['/'], service: {id: s.id}})]})
    await until(() => proxy.health.health(u.id, `127.0.0.1:${dead}`) === 'UNHEALTHY', 5000, 'dead target unhealthy')
    assert.equal(proxy.health.health(u.id, `127.0.0.1:${good.port}`), 'HEALTHY')
    assert.equal(good.hits(), 0, 'a tcp probe sends no request')
  })
})
