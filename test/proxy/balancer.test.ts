import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {createBalancer, parseTarget, type Peer} from '../../src/runtime/proxy/balancer.js'
import {route, service, target, upstream} from '../router/fixtures.js'
import {deadPort, get, startProxy, startUpstream} from './helpers.js'

describe('balancer: weighted round-robin', () => {
  test('distribution follows weights exactly over a cycle; weight 0 is never picked', () => {
    const u = upstream({name: 'pool.internal'})
    const b = createBalancer(u, [
      target({upstream: {id: u.id}, target: 'a:1', weight: 50}),
      target({upstream: {id: u.id}, target: 'b:1', weight: 30}),
      target({upstream: {id: u.id}, target: 'c:1', weight: 20}),
      target({upstream: {id: u.id}, target: 'z:1', weight: 0}),
    ])
    const counts: Record<string, number> = {}
    for (let i = 0; i < 1000; i++) {
      const p = b.pick({})!
      counts[p.host] = (counts[p.host] ?? 0) + 1
    }
    assert.deepEqual(counts, {a: 500, b: 300, c: 200})
  })

  test('exclusion skips failed peers while others remain; no peers → null', () => {
    const u = upstream({name: 'x'})
    const b = createBalancer(u, [target({upstream: {id: u.id}, target: 'a:1'}), target({upstream: {id: u.id}, target: 'b:1'})])
    const first = b.pick({})!
    const failed = new Set<Peer>([first])
    for (let i = 0; i < 5; i++) assert.notEqual(b.pick({}, failed)!.host, first.host)
    assert.equal(createBalancer(u, []).pick({}), null)
    assert.equal(createBalancer(u, [target({upstream: {id: u.id}, target: 'a:1', weight: 0})]).pick({}), null)
  })

  test('targets: host:port, bare host, IPv6', () => {
    assert.deepEqual(parseTarget('10.0.0.1:9000'), {host: '10.0.0.1', port: 9000})
    assert.deepEqual(parseTarget('backend'), {host: 'backend', port: 8000})
    assert.deepEqual(parseTarget('[::1]:81'), {host: '::1', port: 81})
  })
})

describe('balancer: through the proxy', () => {
  test('spreads requests by weight across real upstreams and retries past a dead target', async (t) => {
    const a = await startUpstream(t, 'a')
    const b = await startUpstream(t, 'b')
    const dead = await deadPort()
    const u = upstream({name: 'backend.pool'})
    const s = service({host: 'backend.pool', port: 80, retries: 3})
    const {port} = await startProxy(t, {
      services: [s],
      upstreams: [u],
      targets: [
        target({upstream: {id: u.id}, target: `127.0.0.1:${a.port}`, weight: 30}),
        target({upstream: {id: u.id}, target: `127.0.0.1:${b.port}`, weight: 10}),
        target({upstream: {id: u.id}, target: `127.0.0.1:${dead}`, weight: 10}),
      ],
      routes: [route({paths: ['/'], service: {id: s.id}})],
    })
    const seen: Record<string, number> = {}
    for (let i = 0; i < 50; i++) {
      const r = await get(port, '/r')
      assert.equal(r.status, 200, 'every request succeeds despite the dead target')
      const e = r.json()
      seen[e.upstream] = (seen[e.upstream] ?? 0) + 1
      assert.equal(e.headers.host, `127.0.0.1:${e.upstream === 'a' ? a.port : b.port}`)
    }
    // 50 requests = 10 cycles of 5 picks (a×3, b×1, dead×1); a dead pick retries on the next peer.
    assert.ok(seen.a >= 30 && seen.b >= 10, JSON.stringify(seen))
    assert.equal(seen.a + seen.b, 50)
  })

  test('503 when the upstream has no target with weight > 0', async (t) => {
    const u = upstream({name: 'empty.pool'})
    const s = service({host: 'empty.pool'})
    const {port} = await startProxy(t, {
      services: [s],
      upstreams: [u],
      targets: [target({upstream: {id: u.id}, target: '127.0.0.1:1', weight: 0})],
      routes: [route({paths: ['/'], service: {id: s.id}})],
    })
    const r = await get(port, '/')
    assert.equal(r.status, 503)
    assert.equal(r.json().message, 'failure to get a peer from the ring-balancer')
  })
})
