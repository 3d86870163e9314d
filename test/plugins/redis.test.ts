/** rate-limiting's redis policy against a real redis-server; cluster refused on CPs. */
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {createClient} from 'redis'
import {generateCa, issueCertificate} from '../../src/pki/index.js'
import {findPlugin} from '../../src/runtime/plugins/registry.js'
import {EMPTY_UUID} from '../../src/runtime/plugins/rate-limiting/cluster-policy.js'
import {CLUSTER_IN_HYBRID} from '../../src/runtime/plugins/rate-limiting/schema.js'
import {route, service} from '../router/fixtures.js'
import {deadPort, get, startProxy, startUpstream} from '../proxy/helpers.js'
import {startTestRedis, type TestRedis} from '../helpers/redis.js'
import {plugin} from './fixtures.js'
import {until} from '../helpers/until.js'

let redis: TestRedis

before(async () => {
  redis = await startTestRedis()
})
after(async () => {
  await redis?.stop()
})

async function nodes(t: any, conf: Record<string, unknown>, count: number, trustedCertificates?: string[]) {
  const up = await startUpstream(t, 'a')
  const s = service({url: `http://127.0.0.1:${up.port}`})
  const r = route({paths: ['/'], service: {id: s.id}})
  const p = plugin('rate-limiting', conf)
  const ports: number[] = []
  for (let i = 0; i < count; i++) ports.push((await startProxy(t, {services: [s], routes: [r], plugins: [p]} as any, {trustedCertificates})).port)
  return {ports, up, route: r, service: s}
}

describe('plugins: rate-limiting (redis)', () => {
  test('two nodes share counters in Redis under Kong keys', async (t) => {
    const {ports, up} = await nodes(t, {minute: 3, policy: 'redis', limit_by: 'ip', redis: {host: '127.0.0.1', port: redis.port}}, 2)
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) {
      const res = await get(ports[i % 2], '/')
      statuses.push(res.status)
      if (res.status === 200) assert.equal(res.headers['x-ratelimit-remaining-minute'], String(2 - i))
      // Counting does not hold the request (as Kong); let it land before the next read.
      // Kong's key: the instance's route and service, the empty uuid for a global one.
      await waitForCount(redis.port, EMPTY_UUID, EMPTY_UUID, i + 1 > 3 ? 3 : i + 1)
    }
    assert.deepEqual(statuses, [200, 200, 200, 429])
    assert.equal(up.hits(), 3)
  })

  test('fault_tolerant proxies when Redis is down; without it the client gets a 500', async (t) => {
    const down = await deadPort()
    const tolerant = await nodes(t, {minute: 1, policy: 'redis', redis: {host: '127.0.0.1', port: down, timeout: 500}}, 1)
    for (let i = 0; i < 2; i++) {
      const res = await get(tolerant.ports[0], '/')
      assert.equal(res.status, 200)
      assert.equal(res.headers['x-ratelimit-limit-minute'], undefined)
    }
    const strict = await nodes(t, {minute: 1, policy: 'redis', fault_tolerant: false, redis: {host: '127.0.0.1', port: down, timeout: 500}}, 1)
    const res = await get(strict.ports[0], '/')
    assert.equal(res.status, 500)
    assert.equal(res.json().message, 'An unexpected error occurred')
    assert.equal(strict.up.hits(), 0)
  })

  test('over TLS: ssl_verify trusts the CAs of lua_ssl_trusted_certificate and checks server_name; any other certificate is a redis failure', async (t) => {
    const ca = await generateCa({days: 1})
    const leaf = await issueCertificate(ca, {commonName: 'redis.test', sans: ['redis.test'], usage: 'server', days: 1})
    const tls = await startTestRedis({tls: {cert: leaf.cert, key: leaf.key, ca: ca.cert}})
    t.after(() => tls.stop())
    const conf = (redis: Record<string, unknown>) => ({minute: 5, policy: 'redis', limit_by: 'ip', fault_tolerant: false, redis: {host: '127.0.0.1', port: tls.tlsPort, timeout: 1000, ...redis}})
    const verified = await nodes(t, conf({ssl: true, ssl_verify: true, server_name: 'redis.test'}), 1, [ca.cert])
    const ok = await get(verified.ports[0], '/')
    assert.equal(ok.status, 200)
    assert.equal(ok.headers['x-ratelimit-remaining-minute'], '4', 'counted in the TLS redis')
    const unverified = await nodes(t, conf({ssl: true, ssl_verify: false, server_name: 'nowhere.test'}), 1, [])
    assert.equal((await get(unverified.ports[0], '/')).status, 200, 'ssl_verify off: any certificate')
    // Kong (lua-resty-redis's sslhandshake) checks the name only when server_name is set
    const chainOnly = await nodes(t, conf({ssl: true, ssl_verify: true}), 1, [ca.cert])
    assert.equal((await get(chainOnly.ports[0], '/')).status, 200, 'ssl_verify without server_name: the chain only, not the host 127.0.0.1')
    const other = await generateCa({days: 1})
    for (const [why, redis, trusted] of [
      ['a CA the node does not trust', {ssl: true, ssl_verify: true, server_name: 'redis.test'}, [other.cert]],
      ['another server name', {ssl: true, ssl_verify: true, server_name: 'other.test'}, [ca.cert]],
      ['a CA the node does not trust, without server_name', {ssl: true, ssl_verify: true}, [other.cert]],
      ['no TLS to a TLS port', {ssl: false}, [ca.cert]],
      ['TLS to a plain port', {ssl: true, ssl_verify: false, port: tls.port}, [ca.cert]],
    ] as const) {
      const refused = await nodes(t, conf(redis), 1, [...trusted])
      const res = await get(refused.ports[0], '/')
      assert.equal(res.status, 500, why)
      assert.equal(res.json().message, 'An unexpected error occurred', why)
      assert.equal(refused.up.hits(), 0, why)
      // and like any redis failure, fault_tolerant proxies without the rate-limit headers
      const tolerant = await nodes(t, {...conf(redis), fault_tolerant: true}, 1, [...trusted])
      const proxied = await get(tolerant.ports[0], '/')
      assert.equal(proxied.status, 200, why)
      assert.equal(proxied.headers['x-ratelimit-limit-minute'], undefined, why)
      assert.equal(tolerant.up.hits(), 1, why)
    }
  })

  test("redis's schema is Kong's: host a host, server_name an SNI, ssl and ssl_verify optional", () => {
    const rl = findPlugin('rate-limiting')!
    const redisErrors = (redis: Record<string, unknown>) => (rl.validateConfig({minute: 1, policy: 'redis', redis}).errors as any)?.redis
    assert.deepEqual(redisErrors({host: 'no such host'}), {host: 'invalid value: no such host'})
    assert.deepEqual(redisErrors({host: 'r', server_name: '127.0.0.1'}), {server_name: 'must not be an IP'})
    assert.deepEqual(redisErrors({host: 'r', server_name: 'redis.test:6380'}), {server_name: 'must not have a port'})
    assert.equal(redisErrors({host: 'r', ssl: null, ssl_verify: null, server_name: 'redis.test'}), undefined)
    const filled = rl.validateConfig({minute: 1, policy: 'redis', redis: {host: 'r'}}) as any
    assert.equal(filled.errors, undefined)
    assert.equal(filled.value.redis.ssl, false)
    assert.equal(filled.value.redis.ssl_verify, false)
    assert.equal(filled.value.redis.server_name, null)
  })

  test('redis policy requires redis.host; a control plane refuses the cluster policy', () => {
    const rl = findPlugin('rate-limiting')!
    assert.deepEqual((rl.validateConfig({minute: 1, policy: 'redis'}).errors as any).redis, {host: 'required field missing'})
    assert.equal(rl.validateConfig({minute: 1, policy: 'cluster'}).errors, undefined)
    assert.deepEqual(rl.validateConfig({minute: 1, policy: 'cluster'}, {controlPlane: true}).errors, {'@entity': [CLUSTER_IN_HYBRID]})
    assert.equal(rl.validateConfig({minute: 1, policy: 'redis', redis: {host: 'r'}}, {controlPlane: true}).errors, undefined)
  })
})

async function waitForCount(port: number, routeId: string, serviceId: string, expected: number): Promise<void> {
  const c = createClient({socket: {host: '127.0.0.1', port}})
  await c.connect()
  try {
    const {key} = await until(
      `the redis counter to reach ${expected}`,
      async () => {
        const keys = await c.keys(`ratelimit:${routeId}:${serviceId}:*:minute`)
        return {key: keys[0], n: keys.length ? Number(await c.get(keys[0])) : 0}
      },
      {ok: (v) => v.n >= expected, intervalMs: 20},
    )
    assert.match(key, /^ratelimit:[0-9a-f-]+:[0-9a-f-]+:(::ffff:)?127\.0\.0\.1:\d+:minute$/)
    assert.ok((await c.ttl(key)) > 0)
  } finally {
    c.destroy()
  }
}
