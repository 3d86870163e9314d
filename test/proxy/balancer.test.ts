import assert from 'node:assert/strict'
import type {IncomingMessage, ServerResponse} from 'node:http'
import {describe, test} from 'node:test'
import {createBalancer, parseTarget, type Peer} from '../../src/runtime/proxy/balancer/index.js'
import {route, service, target, upstream} from '../router/fixtures.js'
import {buildSnapshot} from '../../src/runtime/proxy/snapshot.js'
import {consumer, keyCred, plugin} from '../plugins/fixtures.js'
import {deadPort, entities, get, startProxy, startUpstream} from './helpers.js'
import {until} from '../helpers/until.js'

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
    await until('the slow request to reach its upstream', () => holding.length, {intervalMs: 5})
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

describe('balancer: consistent-hashing', () => {
  const ring = (hosts: string[], extra: Record<string, unknown> = {}, weights: number[] = []) => {
    const u = upstream({name: 'ring', algorithm: 'consistent-hashing', hash_on: 'header', hash_on_header: 'x-user', ...extra})
    return createBalancer(u, hosts.map((h, i) => target({upstream: {id: u.id}, target: `${h}:80`, weight: weights[i] ?? 100})))
  }
  const keys = Array.from({length: 3000}, (_, i) => `user-${i}`)
  const place = (b: ReturnType<typeof ring>) => new Map(keys.map((k) => [k, b.pick({hashKey: k})!.host]))
  const shares = (m: Map<string, string>) => {
    const n: Record<string, number> = {}
    for (const h of m.values()) n[h] = (n[h] ?? 0) + 1
    return n
  }

  test('same key, same peer; keys spread evenly, and by weight', () => {
    const b = ring(['a', 'b', 'c', 'd', 'e'])
    const m = place(b)
    for (const k of keys.slice(0, 50)) assert.equal(b.pick({hashKey: k})!.host, m.get(k))
    for (const [h, n] of Object.entries(shares(m))) assert.ok(n > 3000 * 0.12 && n < 3000 * 0.28, `${h}: ${n}`)
    const w = shares(place(ring(['a', 'b'], {}, [200, 100])))
    assert.ok(w.a / w.b > 1.6 && w.a / w.b < 2.5, JSON.stringify(w))
    assert.equal(ring(['a', 'b'], {}, [100, 0]).pick({hashKey: 'x'})!.host, 'a', 'weight 0 gets nothing')
  })

  // Kong's ring: a target's colliding point moves on to its next name, so a removal or an
  // addition also moves the few keys of the points whose collisions it changed
  test('removing a target moves its keys and hardly any other; adding one takes about 1/N, nearly all to it', () => {
    const before = place(ring(['a', 'b', 'c', 'd', 'e']))
    const without = place(ring(['a', 'b', 'd', 'e']))
    const others = keys.filter((k) => before.get(k) !== 'c' && without.get(k) !== before.get(k))
    assert.ok(others.length < keys.length * 0.02, `${others.length} keys of other targets moved`)
    const added = place(ring(['a', 'b', 'c', 'd', 'e', 'f']))
    const moved = keys.filter((k) => added.get(k) !== before.get(k))
    assert.ok(moved.filter((k) => added.get(k) !== 'f').length < keys.length * 0.02)
    assert.ok(moved.length > 3000 / 6 * 0.5 && moved.length < 3000 / 6 * 1.5, String(moved.length))
  })

  test('a retry walks on to another peer; slots below 1000 count as 1000', () => {
    const b = ring(['a', 'b', 'c'], {slots: 10})
    const first = b.pick({hashKey: 'k'})!
    const second = b.pick({hashKey: 'k'}, new Set([first]))!
    assert.notEqual(second.host, first.host)
    const third = b.pick({hashKey: 'k'}, new Set([first, second]))!
    assert.deepEqual([first, second, third].map((p) => p.host).sort(), ['a', 'b', 'c'])
    assert.equal(b.pick({hashKey: 'k'}, new Set([first, second, third])), first, 'all failed: back to its own peer')
  })

  test('hash_on none balances by weight, as round-robin', () => {
    const u = upstream({name: 'none', algorithm: 'consistent-hashing'})
    const b = createBalancer(u, [target({upstream: {id: u.id}, target: 'a:1', weight: 20}), target({upstream: {id: u.id}, target: 'b:1', weight: 10})])
    assert.equal(b.hashed, undefined)
    const n = {a: 0, b: 0} as Record<string, number>
    for (let i = 0; i < 30; i++) n[b.pick({})!.host]++
    assert.deepEqual(n, {a: 20, b: 10})
  })
})

describe('balancer: consistent-hashing through the proxy', () => {
  async function setup(t: any, fields: Record<string, unknown>, extra: Record<string, unknown> = {}) {
    const ups = [await startUpstream(t, 'a'), await startUpstream(t, 'b'), await startUpstream(t, 'c')]
    const u = upstream({name: 'hash.pool', algorithm: 'consistent-hashing', ...fields})
    const s = service({host: 'hash.pool', port: 80})
    const targets = ups.map((x) => target({upstream: {id: u.id}, target: `127.0.0.1:${x.port}`}))
    const config = {services: [s], upstreams: [u], targets, routes: [route({paths: ['/'], service: {id: s.id}})], ...extra}
    const {proxy, port} = await startProxy(t, config)
    return {proxy, port, config}
  }
  const where = async (port: number, path: string, headers: Record<string, string> = {}) => {
    const r = await get(port, path, {headers})
    assert.equal(r.status, 200, r.body)
    return r.json().upstream as string
  }

  test('by header: each key sticks to one peer, keys spread, removing a target leaves the others\' keys', async (t) => {
    const {proxy, port, config} = await setup(t, {hash_on: 'header', hash_on_header: 'X-User'})
    const users = Array.from({length: 30}, (_, i) => `u${i}`)
    const home = new Map<string, string>()
    for (const u of users) home.set(u, await where(port, '/', {'x-user': u}))
    for (let round = 0; round < 3; round++) {
      for (const u of users) assert.equal(await where(port, '/', {'x-user': u}), home.get(u), u)
    }
    assert.equal(new Set(home.values()).size, 3, 'keys spread over all three peers')
    // drop the target that holds the first user; the rest keep their peers, but for the
    // few points whose collisions (Kong's rule) the removal changed: ~1% of the keys
    const gone = home.get('u0')!
    const i = ['a', 'b', 'c'].indexOf(gone)
    proxy.swap(buildSnapshot(entities({...config, targets: config.targets.filter((_, j) => j !== i)})))
    const moved: string[] = []
    for (const u of users) {
      const now = await where(port, '/', {'x-user': u})
      if (home.get(u) === gone) assert.notEqual(now, gone)
      else if (now !== home.get(u)) moved.push(u)
    }
    assert.ok(moved.length <= 4, `keys of the remaining targets moved: ${moved.join(' ')}`)
  })

  test('falls back (hash_fallback) when the header is absent', async (t) => {
    const {port} = await setup(t, {hash_on: 'header', hash_on_header: 'x-user', hash_fallback: 'query_arg', hash_fallback_query_arg: 'user'})
    const seen = new Set<string>()
    for (let i = 0; i < 20; i++) {
      const byHeader = await where(port, '/', {'x-user': `k${i}`})
      seen.add(byHeader)
      // the fallback hashes the same value: the same peer
      assert.equal(await where(port, `/?user=k${i}`), byHeader)
    }
    assert.ok(seen.size > 1)
  })

  test('by consumer, set by key-auth before the balancer', async (t) => {
    const people = Array.from({length: 12}, (_, i) => consumer(`c${i}`))
    const {port} = await setup(t, {hash_on: 'consumer'}, {
      consumers: people,
      keyauth_credentials: people.map((c, i) => keyCred(c, `key-${i}`)),
      plugins: [plugin('key-auth')],
    })
    const home = new Map<string, string>()
    for (let i = 0; i < people.length; i++) home.set(`key-${i}`, await where(port, '/', {apikey: `key-${i}`}))
    for (let i = 0; i < people.length; i++) assert.equal(await where(port, '/', {apikey: `key-${i}`}), home.get(`key-${i}`))
    assert.ok(new Set(home.values()).size > 1, 'consumers spread over peers')
    assert.equal((await get(port, '/')).status, 401)
  })

  test('by cookie: generated when absent (Set-Cookie with the path), then sticks', async (t) => {
    const {port} = await setup(t, {hash_on: 'cookie', hash_on_cookie: 'lb', hash_on_cookie_path: '/app'})
    const first = await get(port, '/')
    const set = String(first.headers['set-cookie'])
    assert.match(set, /^lb=[0-9a-f-]{36}; Path=\/app; SameSite=Lax; HttpOnly$/)
    const cookie = set.split(';')[0]
    for (let i = 0; i < 5; i++) {
      const r = await get(port, '/', {headers: {cookie: `other=1; ${cookie}`}})
      assert.equal(r.json().upstream, first.json().upstream)
      assert.equal(r.headers['set-cookie'], undefined, 'no new cookie when the client has one')
    }
  })
})
