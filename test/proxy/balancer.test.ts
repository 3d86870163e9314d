import assert from 'node:assert/strict'
import type {IncomingMessage, ServerResponse} from 'node:http'
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

describe('balancer: least-connections', () => {
  test('picks the lowest (in flight + 1) / weight; release frees a slot; weight 0 never', () => {
    const u = upstream({name: 'lc', algorithm: 'least-connections'})
    const b = createBalancer(u, [
      target({upstream: {id: u.id}, target: 'a:1', weight: 300}),
      target({upstream: {id: u.id}, target: 'b:1', weight: 100}),
      target({upstream: {id: u.id}, target: 'z:1', weight: 0}),
    ])
    const held: Peer[] = []
    for (let i = 0; i < 400; i++) held.push(b.pick({})!)
    const count = (host: string) => held.filter((p) => p.host === host).length
    assert.deepEqual([count('a'), count('b'), count('z')], [300, 100, 0])
    // a at 300/300, b at 100/100: equal, the earlier target wins; once b frees two, it gets the next two
    const b1 = held.find((p) => p.host === 'b')!
    b.release!(b1, false)
    b.release!(b1, false)
    assert.deepEqual([b.pick({})!.host, b.pick({})!.host, b.pick({})!.host], ['b', 'b', 'a'])
  })

  test('avoids peers that failed for this request while others remain; no peers → null', () => {
    const u = upstream({name: 'lc', algorithm: 'least-connections'})
    const b = createBalancer(u, [target({upstream: {id: u.id}, target: 'a:1'}), target({upstream: {id: u.id}, target: 'b:1'})])
    const first = b.pick({})!
    b.release!(first, true)
    const failed = new Set<Peer>([first])
    for (let i = 0; i < 3; i++) assert.notEqual(b.pick({}, failed)!.host, first.host)
    const both = new Set<Peer>([first, b.pick({})!])
    assert.ok(b.pick({}, both), 'every peer failed: still one to retry on')
    assert.equal(createBalancer(u, [target({upstream: {id: u.id}, target: 'a:1', weight: 0})]).pick({}), null)
  })

  test('through the proxy: new requests go away from the peer still streaming a slow response', async (t) => {
    const holding: ServerResponse[] = []
    // `/slow` answers its headers at once and holds the body until the test lets it go
    const slow = (req: IncomingMessage, res: ServerResponse) => {
      if (req.url !== '/slow') return false
      res.writeHead(200, {'content-type': 'text/plain'})
      res.write('partial ')
      holding.push(res)
      return true
    }
    const a = await startUpstream(t, 'a', slow)
    const b = await startUpstream(t, 'b', slow)
    const u = upstream({name: 'lc.pool', algorithm: 'least-connections'})
    const s = service({host: 'lc.pool', port: 80})
    const {port} = await startProxy(t, {
      services: [s],
      upstreams: [u],
      targets: [target({upstream: {id: u.id}, target: `127.0.0.1:${a.port}`}), target({upstream: {id: u.id}, target: `127.0.0.1:${b.port}`})],
      routes: [route({paths: ['/'], service: {id: s.id}})],
    })
    const pending = get(port, '/slow')
    while (holding.length === 0) await new Promise((r) => setTimeout(r, 5))
    assert.equal(a.hits(), 1, 'an idle balancer starts with the earlier of equal peers')
    const seen: string[] = []
    for (let i = 0; i < 10; i++) seen.push((await get(port, '/fast')).json().upstream)
    assert.deepEqual(seen, new Array(10).fill('b'), 'nothing more for the busy peer')
    holding[0].end('done')
    assert.equal((await pending).body, 'partial done')
    // the slow response has ended: a is idle again, and first among equals
    assert.equal((await get(port, '/fast')).json().upstream, 'a')
  })
})
