/**
 * Kong's spec/01-unit/09-balancer/03-consistent_hashing_spec.lua (3.9), ported where it
 * applies: Kong's cases on IP targets, against kctl's consistent-hashing balancer. Cases
 * about DNS records (a hostname resolving to several addresses, SRV, TTL renewals) are
 * skipped: kctl does not resolve a target into several addresses for the ring.
 *
 * Then the ring itself, key by key: the expected targets below were computed with Kong's
 * consistent_hashing.lua algorithm (same sort, point names, collision rule and lookup
 * walk) over the xxHash reference C library (libxxhash 0.8, XXH32 seed 0), so a key lands
 * on the target Kong would send it to.
 */
import assert from 'node:assert/strict'
import {describe, test as it} from 'node:test'
import {createBalancer, type Balancer} from '../../../src/runtime/proxy/balancer/index.js'
import {buildContinuum, continuumIndex, sortPeers, xxhash32} from '../../../src/runtime/proxy/balancer/consistent-hashing.js'
import {target, upstream} from '../../router/fixtures.js'

function newBalancer(hosts: {name: string; port: number; weight: number}[], wheelSize: number): Balancer {
  const u = upstream({name: 'ring.test', algorithm: 'consistent-hashing', hash_on: 'header', hash_on_header: 'x-key', slots: wheelSize})
  return createBalancer(u, hosts.map((h) => target({upstream: {id: u.id}, target: `${h.name}:${h.port}`, weight: h.weight})))
}
const peerOf = (b: Balancer, value: string, down?: Set<string>) => {
  const p = b.pick({hashKey: value}, undefined, down)!
  return `${p.host}:${p.port}`
}

describe('[consistent_hashing]', () => {
  describe('getting targets', () => {
    it('gets an IP address and port number; consistent hashing', () => {
      const b = newBalancer([{name: '1.2.3.4', port: 123, weight: 10}, {name: '5.6.7.8', port: 321, weight: 5}], 1000)
      // run down the wheel, hitting all indices once
      let res: Record<string, number> = {}
      for (let n = 1; n <= 1500; n++) {
        const k = peerOf(b, String(n))
        res[k] = (res[k] ?? 0) + 1
      }
      // weight distribution may vary up to 10% when using ketama algorithm
      assert.ok(res['1.2.3.4:123'] > 900, JSON.stringify(res))
      assert.ok(res['1.2.3.4:123'] < 1100, JSON.stringify(res))
      assert.ok(res['5.6.7.8:321'] > 450, JSON.stringify(res))
      assert.ok(res['5.6.7.8:321'] < 550, JSON.stringify(res))
      // hit one index 15 times
      res = {}
      for (let i = 0; i < 15; i++) {
        const k = peerOf(b, '6')
        res[k] = (res[k] ?? 0) + 1
      }
      assert.ok(res['1.2.3.4:123'] === 15 || res['1.2.3.4:123'] === undefined, 'mismatch')
      assert.ok(res['5.6.7.8:321'] === 15 || res['5.6.7.8:321'] === undefined, 'mismatch')
    })

    it('evaluate the change in the continuum', () => {
      const hosts = [1, 2, 3, 4, 5].map((i) => ({name: `10.0.0.${i}`, port: i, weight: 100}))
      const res = (b: Balancer) => Array.from({length: 10000}, (_, n) => peerOf(b, String(n + 1)))
      const res1 = res(newBalancer(hosts, 5000))
      hosts.push({name: '10.0.0.6', port: 6, weight: 100})
      const res2 = res(newBalancer(hosts, 5000))
      let dif = res1.filter((r, n) => r !== res2[n]).length
      // from 5 to 6 addresses a simple distribution changes 49%; below 20% (Kong's words)
      assert.ok(dif / 100 < 49, 'it should be better than a simple distribution')
      assert.ok(dif / 100 < 20, 'it is still to much change ')
      hosts.push({name: '10.0.0.7', port: 7, weight: 100}, {name: '10.0.0.8', port: 8, weight: 100})
      const res3 = res(newBalancer(hosts, 5000))
      dif = res1.filter((r, n) => r !== res3[n]).length
      const dif2 = res2.filter((r, n) => r !== res3[n]).length
      assert.ok(dif / 100 < 83, 'it should be better than a simple distribution')
      assert.ok(dif / 100 < 40, 'it is still to much change ')
      assert.ok(dif2 / 100 < 76, 'it should be better than a simple distribution')
      assert.ok(dif2 / 100 < 25, 'it is still to much change ')
    })

    it('gets an IP address and port number; consistent hashing skips unhealthy addresses', () => {
      const b = newBalancer([{name: '1.2.3.4', port: 123, weight: 100}, {name: '5.6.7.8', port: 321, weight: 50}], 1000)
      // mark node down
      const down = new Set(['1.2.3.4:123'])
      const res: Record<string, number> = {}
      for (let n = 1; n <= 160; n++) {
        const k = peerOf(b, String(n), down)
        res[k] = (res[k] ?? 0) + 1
      }
      assert.equal(res['1.2.3.4:123'], undefined) // address got no hits
      assert.equal(res['5.6.7.8:321'], 160)
    })

    it("does not hit the resolver when 'cache_only' is set", {skip: 'kctl does not resolve targets for the ring'}, () => {})
  })

  describe('setting status triggers address-callback', () => {
    const why = 'address callbacks are internal to Kong’s balancer object; kctl marks health per target (test/proxy/health.test.ts)'
    it('for IP addresses', {skip: why}, () => {})
    it('for 1 level dns', {skip: why}, () => {})
    it('for 2+ level dns', {skip: why}, () => {})
  })

  describe('wheel manipulation', () => {
    const dns = 'a hostname resolving to several addresses (DNS A/AAAA/SRV records): kctl does not resolve a target into several addresses for the ring'
    it('wheel updates are atomic', {skip: 'kctl builds a new balancer per configuration, swapped whole; there is no update in place'}, () => {})
    it("equal weights and 'fitting' indices", {skip: dns}, () => {})
    it('DNS record order has no effect', {skip: dns}, () => {})
    it('changing hostname order has no effect', () => {
      const hosts = [{name: '1.2.3.1', port: 80, weight: 100}, {name: '1.2.3.2', port: 80, weight: 100}]
      const keys = Array.from({length: 2000}, (_, i) => `k${i}`)
      const a = newBalancer(hosts, 1000)
      const b = newBalancer([...hosts].reverse(), 1000) // changed host order
      assert.deepEqual(keys.map((k) => peerOf(b, k)), keys.map((k) => peerOf(a, k)))
    })
    it('adding a host', {skip: dns}, () => {})
    it('removing the last host', {skip: dns}, () => {})
    it('weight change updates properly', {skip: dns}, () => {})
    it('weight change ttl=0 record, updates properly', {skip: dns}, () => {})
    it('weight change for unresolved record, updates properly', {skip: dns}, () => {})
    it('weight change SRV record, has no effect', {skip: dns}, () => {})
    it('renewed DNS A record; no changes', {skip: dns}, () => {})
    it('renewed DNS AAAA record; no changes', {skip: dns}, () => {})
    it('renewed DNS SRV record; no changes', {skip: dns}, () => {})
    it("low weight with zero-indices assigned doesn't fail", () => {
      // depending on order of insertion it is either 1 or 0 indices but it may never error (Kong's words)
      // Kong's unit spec uses 99999; a target's weight is at most 65535 in Kong's schema and in kctl's
      const one = newBalancer([{name: '1.2.3.4', port: 80, weight: 65535}, {name: '9.9.9.9', port: 123, weight: 1}], 1000)
      assert.ok(peerOf(one, 'x'))
      const other = newBalancer([{name: '1.2.3.4', port: 80, weight: 1}, {name: '9.9.9.9', port: 123, weight: 65535}], 1000)
      assert.ok(peerOf(other, 'x'))
    })
    it("SRV record with 0 weight doesn't fail resolving", {skip: dns}, () => {})
    it('recreate Kong issue #2131', {skip: dns}, () => {})
  })
})

describe('the ring as Kong builds it (values from Kong’s algorithm over libxxhash)', () => {
  it('xxHash32, seed 0, of the UTF-8 bytes', () => {
    const vectors: Record<string, number> = {'': 46947589, abc: 852579327, '127.0.0.1::80 1': 248456013, héllo: 1644681334}
    for (const [s, h] of Object.entries(vectors)) assert.equal(xxhash32(s), h, s)
    assert.equal(continuumIndex('abc', 1000), (852579327 % 1000) + 1)
  })

  it('three equal targets on the default 10000 slots: each key on Kong’s target', () => {
    const b = newBalancer([1, 2, 3].map((i) => ({name: `10.0.0.${i}`, port: 80, weight: 100})), 10000)
    const expected: Record<string, string> = {
      '1': '10.0.0.2:80', '2': '10.0.0.2:80', '3': '10.0.0.3:80', '4': '10.0.0.2:80', '5': '10.0.0.1:80',
      '6': '10.0.0.2:80', '7': '10.0.0.2:80', '8': '10.0.0.1:80', '9': '10.0.0.1:80', '10': '10.0.0.2:80',
      alice: '10.0.0.1:80', bob: '10.0.0.3:80', carol: '10.0.0.2:80', dave: '10.0.0.2:80', '192.168.1.7': '10.0.0.2:80',
    }
    for (const [key, want] of Object.entries(expected)) assert.equal(peerOf(b, key), want, key)
  })

  it('weighted targets (10, 5, 1) on 1000 slots: Kong’s points per target and Kong’s target per key', () => {
    const hosts = [{name: '127.0.0.1', port: 9003, weight: 1}, {name: '127.0.0.1', port: 9001, weight: 10}, {name: '127.0.0.1', port: 9002, weight: 5}]
    const b = newBalancer(hosts, 1000)
    const expected: Record<string, string> = {
      a: '127.0.0.1:9001', b: '127.0.0.1:9001', c: '127.0.0.1:9003', d: '127.0.0.1:9001', e: '127.0.0.1:9001', f: '127.0.0.1:9002',
      g: '127.0.0.1:9002', h: '127.0.0.1:9002', 'user-1': '127.0.0.1:9002', 'user-2': '127.0.0.1:9001', 'user-3': '127.0.0.1:9001', 'user-42': '127.0.0.1:9001',
    }
    for (const [key, want] of Object.entries(expected)) assert.equal(peerOf(b, key), want, key)
    // Kong's points: floor(w / 16 × 3 × 160) = 300, 150, 30, collisions moved forward
    const peers = sortPeers(hosts.map((h) => ({host: h.name, port: h.port, weight: h.weight})))
    const claims = buildContinuum(peers, 1000)
    const counts: Record<string, number> = {}
    for (const c of claims) if (c >= 0) counts[`${peers[c].host}:${peers[c].port}`] = (counts[`${peers[c].host}:${peers[c].port}`] ?? 0) + 1
    assert.deepEqual(counts, {'127.0.0.1:9001': 300, '127.0.0.1:9002': 150, '127.0.0.1:9003': 30})
  })
})
