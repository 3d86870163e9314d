/**
 * Name resolution as kong.conf's `dns_*` keys set it: the resolver against a real
 * nameserver of the test's own (answers, TTLs, one query in flight per name, a missing
 * name cached for dns_not_found_ttl, AAAA when a name has no A record), and a DB-less
 * node as a real process whose service host and targets are names only its
 * `dns_hostsfile` and its `dns_resolver` know: it proxies to them, and
 * `GET /upstreams/{u}/health` shows their addresses, or DNS_ERROR, before any traffic.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createSocket} from 'node:dgram'
import {createServer, type Server} from 'node:http'
import {connect} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {after, before, describe, test} from 'node:test'
import {findFreePort} from '../../src/kit/ports.js'
import {parseHostsFile} from '../../src/runtime/conf/dns.js'
import {NameResolver} from '../../src/runtime/proxy/dns.js'
import type {Target, Upstream} from '../../src/runtime/proxy/balancer/index.js'
import {HealthRegistry} from '../../src/runtime/proxy/health/registry.js'
import {until} from '../helpers/until.js'
import {startTestDnsServer, type TestDnsServer} from '../helpers/dns-server.js'
import {killAll, spawnNode, type NodeProcess} from '../helpers/nodes.js'

const dir = mkdtempSync(join(tmpdir(), 'kctl-dns-'))
let dns: TestDnsServer
let origin: Server
let originPort = 0

before(async () => {
  dns = await startTestDnsServer({'origin.dns.test': ['127.0.0.1'], 'short.dns.test': ['127.0.0.1'], 'v6only.dns.test': ['::1']}, 1)
  origin = createServer((req, res) => res.end(JSON.stringify({host: req.headers.host, path: req.url})))
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r))
  originPort = (origin.address() as {port: number}).port
})
after(async () => {
  killAll()
  await dns?.close()
  origin?.close()
  rmSync(dir, {recursive: true, force: true})
})

const settings = (over: Partial<ConstructorParameters<typeof NameResolver>[0]> = {}) => ({
  hosts: parseHostsFile('127.0.0.1 from-hosts.test\n'),
  servers: [dns.address],
  validTtl: null,
  staleTtl: 3600,
  notFoundTtl: 30,
  errorTtl: 1,
  ...over,
})

/** A UDP port of 127.0.0.1 nobody listens on (bound, then released). */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4')
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r))
  const {port} = s.address()
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

describe('NameResolver', () => {
  test('answers from the hosts file without a query, an IP address as itself, names from the nameservers', async () => {
    const r = new NameResolver(settings())
    assert.deepEqual(await r.resolve('FROM-HOSTS.test'), {addresses: [{address: '127.0.0.1', family: 4}], type: 'A', expires: Infinity})
    assert.equal(dns.queries('from-hosts.test'), 0)
    assert.deepEqual((await r.resolve('::1')) as unknown, {addresses: [{address: '::1', family: 6}], type: 'AAAA', expires: Infinity})
    const a = await r.resolve('origin.dns.test')
    assert.ok(!('error' in a))
    assert.deepEqual(a.addresses, [{address: '127.0.0.1', family: 4}])
    // no A record: the AAAA one
    const v6 = await r.resolve('v6only.dns.test')
    assert.ok(!('error' in v6))
    assert.deepEqual([v6.type, v6.addresses], ['AAAA', [{address: '::1', family: 6}]])
  })

  test("one query in flight per name; the answer is kept for its record's TTL, then given stale while asked again", async () => {
    const r = new NameResolver(settings())
    const before = dns.queries('short.dns.test')
    await Promise.all([r.resolve('short.dns.test'), r.resolve('short.dns.test'), r.resolve('Short.DNS.test')])
    await r.resolve('short.dns.test')
    assert.equal(dns.queries('short.dns.test') - before, 1, 'one query for four asks within the TTL')
    await sleep(1100) // the records' TTL is 1 s
    const stale = await r.resolve('short.dns.test')
    assert.ok(!('error' in stale) && stale.expires < Date.now(), 'the answer past its TTL, at once')
    await until('the name to be asked again', () => dns.queries('short.dns.test') - before, {ok: (n) => n === 2})
    await until('the new answer', () => r.resolve('short.dns.test'), {ok: (a) => a.expires > Date.now()})
    assert.equal(dns.queries('short.dns.test') - before, 2)
  })

  test("a name that does not exist: Kong's error, kept for dns_not_found_ttl; dns_valid_ttl overrides the records' TTL", async () => {
    const r = new NameResolver(settings({validTtl: 60}))
    const missing = await r.resolve('nowhere.dns.test')
    assert.ok('error' in missing)
    assert.equal(missing.error, 'dns server error: 3 name error')
    assert.equal(missing.code, 'ENOTFOUND')
    assert.ok(missing.expires > Date.now() + 25_000 && missing.expires <= Date.now() + 30_000)
    await r.resolve('nowhere.dns.test')
    assert.equal(dns.queries('nowhere.dns.test'), 1)
    const kept = await r.resolve('origin.dns.test')
    assert.ok(kept.expires > Date.now() + 55_000, 'dns_valid_ttl = 60')
  })

  test('past its TTL an answer is given at once while it is asked again, and kept while the nameserver is down; dns_stale_ttl 0 keeps nothing', async () => {
    for (const staleTtl of [3600, 0]) {
      const own = await startTestDnsServer({'stale.dns.test': ['127.0.0.1']}, 1)
      const r = new NameResolver(settings({servers: [own.address], staleTtl}))
      assert.ok(!('error' in (await r.resolve('stale.dns.test'))))
      await own.close()
      await sleep(1100) // past the record's TTL, the nameserver gone
      const first = await r.resolve('stale.dns.test')
      if (staleTtl === 0) {
        assert.ok('error' in first, 'no stale answer with dns_stale_ttl = 0')
        continue
      }
      assert.ok(!('error' in first), 'the stale answer, at once')
      assert.deepEqual(first.addresses, [{address: '127.0.0.1', family: 4}])
      await sleep(300) // the refresh failed meanwhile: the answer is kept
      const again = await r.resolve('stale.dns.test')
      assert.ok(!('error' in again))
    }
  })

  test('a nameserver that does not answer is a DNS failure (EAI_AGAIN), never a connect error', async () => {
    // a UDP port nobody listens on: the query is refused
    const closed = `127.0.0.1:${await freeUdpPort()}`
    const r = new NameResolver(settings({servers: [closed]}))
    const res = await r.resolve('origin.dns.test')
    assert.ok('error' in res)
    assert.equal(res.code, 'EAI_AGAIN')
    assert.match(res.error, /^dns client error: /)
  })

  test('as a socket lookup: connects to a name only the nameserver knows; a missing name fails with ENOTFOUND', async () => {
    const r = new NameResolver(settings())
    for (const host of ['origin.dns.test', 'from-hosts.test']) {
      const socket = connect({host, port: originPort, lookup: r.lookup})
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
      assert.equal(socket.remoteAddress, '127.0.0.1')
      socket.destroy()
    }
    const socket = connect({host: 'nowhere.dns.test', port: originPort, lookup: r.lookup})
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => socket.once('error', resolve))
    assert.equal(err.code, 'ENOTFOUND')
  })
})

describe('HealthRegistry: target names', () => {
  test('a name that does not resolve is a DNS_ERROR at once, and stops being one when it resolves, with no request asking', async () => {
    dns.set('later.dns.test', [])
    const registry = new HealthRegistry(new NameResolver(settings({notFoundTtl: 1})))
    try {
      const upstream = {id: 'u-later', name: 'later'} as unknown as Upstream
      registry.sync([{upstream, targets: [{id: 't-later', target: 'later.dns.test:80', weight: 100}] as unknown as Target[]}])
      await until('DNS_ERROR', () => registry.health('u-later', 'later.dns.test:80'), {ok: (h) => h === 'DNS_ERROR'})
      assert.deepEqual(registry.resolution('u-later', 'later.dns.test:80'), {error: 'dns server error: 3 name error', code: 'ENOTFOUND', expires: registry.resolution('u-later', 'later.dns.test:80')!.expires})
      dns.set('later.dns.test', ['127.0.0.1'])
      // dns_not_found_ttl is 1 s here: the registry asks again by itself
      await until('the name to resolve', () => registry.health('u-later', 'later.dns.test:80'), {ok: (h) => h === 'HEALTHCHECKS_OFF', timeoutMs: 10_000})
      const r = registry.resolution('u-later', 'later.dns.test:80')!
      assert.ok(!('error' in r))
      assert.deepEqual(r.addresses, [{address: '127.0.0.1', family: 4}])
    } finally {
      registry.close()
    }
  })
})

describe('a node with dns_hostsfile and dns_resolver', () => {
  let node: NodeProcess
  let admin = ''
  let proxy = ''

  before(async () => {
    const hostsfile = join(dir, 'hosts')
    writeFileSync(hostsfile, '127.0.0.1 localhost\n127.0.0.1 from-hosts.test\n')
    const config = join(dir, 'kong.yaml')
    writeFileSync(
      config,
      `_format_version: "3.0"
services:
- name: by-dns
  url: http://origin.dns.test:${originPort}
  routes: [{name: by-dns, paths: [/by-dns]}]
- name: by-hosts
  host: named
  routes: [{name: by-hosts, paths: [/by-hosts]}]
- name: nowhere
  host: nowhere
  routes: [{name: nowhere, paths: [/nowhere]}]
upstreams:
- name: named
  targets: [{target: "from-hosts.test:${originPort}"}, {target: "origin.dns.test:${originPort}", weight: 0}]
- name: nowhere
  targets: [{target: "nowhere.dns.test:80"}]
`,
    )
    const [a, p, s] = [await findFreePort(), await findFreePort(), await findFreePort()]
    admin = `http://127.0.0.1:${a}`
    proxy = `http://127.0.0.1:${p}`
    const status = `http://127.0.0.1:${s}`
    node = spawnNode(dir, {database: 'off', declarative_config: config, dns_hostsfile: hostsfile, dns_resolver: dns.address, admin_listen: `127.0.0.1:${a}`, proxy_listen: `127.0.0.1:${p}`, status_listen: `127.0.0.1:${s}`}, {status})
    await node.waitReady()
  })
  after(() => node?.stop())

  test('GET /upstreams/{u}/health before any traffic: the addresses each name resolved to, DNS_ERROR for one that does not resolve', async () => {
    const named = await (await fetch(`${admin}/upstreams/named/health`)).json()
    const byTarget = Object.fromEntries(named.data.map((t: any) => [t.target, t]))
    const hosts = byTarget[`from-hosts.test:${originPort}`]
    assert.equal(hosts.health, 'HEALTHCHECKS_OFF')
    assert.deepEqual(hosts.data.addresses, [{ip: '127.0.0.1', port: originPort, weight: 100, health: 'HEALTHCHECKS_OFF'}])
    assert.equal(hosts.data.dns, 'A')
    const zero = byTarget[`origin.dns.test:${originPort}`]
    assert.deepEqual(zero.data.addresses, [{ip: '127.0.0.1', port: originPort, weight: 0, health: 'HEALTHCHECKS_OFF'}])
    const nowhere = await (await fetch(`${admin}/upstreams/nowhere/health`)).json()
    assert.equal(nowhere.data[0].health, 'DNS_ERROR')
    assert.deepEqual(nowhere.data[0].data.addresses, [])
    assert.equal(nowhere.data[0].data.dns, 'dns server error: 3 name error')
  })

  test('the proxy reaches a service host and a target by the names only the node knows; an upstream whose one target does not resolve is a 503', async () => {
    const viaDns = await fetch(`${proxy}/by-dns/x`)
    assert.equal(viaDns.status, 200)
    assert.equal((await viaDns.json()).path, '/x')
    const viaHosts = await fetch(`${proxy}/by-hosts/y`)
    assert.equal(viaHosts.status, 200)
    assert.equal((await viaHosts.json()).path, '/y')
    const nowhere = await fetch(`${proxy}/nowhere`)
    assert.equal(nowhere.status, 503)
    // Kong: the target has no address, so no weight; its balancer is unhealthy and gives no peer
    assert.match(await nowhere.text(), /failure to get a peer from the ring-balancer/)
  })

  test('a hosts file that does not exist stops the start with Kong\'s message', async () => {
    const bad = spawnNode(dir, {database: 'off', dns_hostsfile: join(dir, 'no-such-hosts'), admin_listen: 'off', proxy_listen: `127.0.0.1:${await findFreePort()}`, status_listen: 'off'})
    const code = await bad.exited
    assert.notEqual(code, 0)
    assert.match(bad.output(), /dns_hostsfile: file does not exist/)
  })
})
