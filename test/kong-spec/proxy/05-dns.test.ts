/**
 * Kong's spec/02-integration/05-proxy/05-dns_spec.lua (3.9), ported: the same describe/it
 * titles and assertions, against a real node (Admin API over Postgres, its proxy),
 * strategy `postgres`. Kong's DNS mock is a real nameserver of the test's own that the
 * node asks (kong.conf `dns_resolver`): it knows `www.example.test`, every other name is a
 * name error. Kong's `bad_tcp_server` (accepts, waits 0.1 s, closes, counts) is a server
 * started here. "udp sockets release" reads the kernel's UDP socket table, as Kong's
 * `netstat`: no socket to the nameserver is left once the query is answered. The stream
 * subsystem block is skipped: kctl proxies HTTP(S) only.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {createServer, type Server, type Socket} from 'node:net'
import {after, before, describe, test as it} from 'node:test'
import {NameResolver} from '../../../src/runtime/proxy/dns.js'
import {startTestDnsServer, type TestDnsServer} from '../../helpers/dns-server.js'
import {until} from '../../helpers/until.js'
import {startPluginSpecNode, type PluginSpecNode} from '../plugins/kong-proxy.js'

const strategy = 'postgres'

/** A node whose names resolve through `nameserver` (and no hosts file). */
const nodeAsking = (nameserver: TestDnsServer) =>
  startPluginSpecNode({dns: new NameResolver({hosts: new Map(), servers: [nameserver.address], validTtl: null, staleTtl: 3600, notFoundTtl: 30, errorTtl: 1})})

/** Kong's bad_tcp_server: accepts, waits 0.1 s, closes; counts the connections. */
async function badTcpServer(): Promise<{port: number; tries(): number; close(): Promise<void>}> {
  let tries = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((s) => {
    tries++
    sockets.add(s)
    s.on('error', () => {})
    setTimeout(() => s.destroy(), 100)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    port: (server.address() as {port: number}).port,
    tries: () => tries,
    close: () => {
      for (const s of sockets) s.destroy()
      return new Promise<void>((r) => server.close(() => r()))
    },
  }
}

/** UDP sockets of this network namespace whose peer is `port` on 127.0.0.1 (Kong's `netstat -n | grep 53 | grep udp`). */
function udpSocketsTo(port: number): number {
  const peer = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`
  return readFileSync('/proc/net/udp', 'utf8').split('\n').filter((line) => line.trim().split(/\s+/)[2] === peer).length
}

describe(`DNS [#${strategy}]`, () => {
  let nameserver: TestDnsServer
  before(async () => {
    nameserver = await startTestDnsServer({'www.example.test': ['127.0.0.10']})
  })
  after(() => nameserver?.close())

  describe('retries', () => {
    const retries = 3
    let node: PluginSpecNode
    let bad: Awaited<ReturnType<typeof badTcpServer>>
    before(async () => {
      node = await nodeAsking(nameserver)
      bad = await badTcpServer()
      const service = await node.bp.services.insert({name: 'tests-retries', host: '127.0.0.1', port: bad.port, retries})
      await node.bp.routes.insert({hosts: ['retries.test'], service: {id: service.id}})
    })
    after(async () => {
      await bad?.close()
      await node?.close()
    })

    it('validates the number of retries', async () => {
      const r = await node.proxy.get('/', {headers: {host: 'retries.test'}})
      assert.equal(r.status, 502, r.text)
      // the -1 is because the initial one is not a retry
      assert.equal(bad.tries() - 1, retries)
    })
  })

  describe('upstream resolve failure', () => {
    let node: PluginSpecNode
    before(async () => {
      node = await nodeAsking(nameserver)
      const service = await node.bp.services.insert({name: 'tests-retries', host: 'nowthisdoesnotexistatall.test', path: '/exist', port: 80, protocol: 'http'})
      await node.bp.routes.insert({hosts: ['retries.test'], protocols: ['http'], service: {id: service.id}})
    })
    after(() => node?.close())

    it('fails with 503', async () => {
      const r = await node.proxy.get('/', {headers: {host: 'retries.test'}})
      assert.equal(r.status, 503, r.text)
    })
  })

  describe('udp sockets', () => {
    const domainName = 'www.example.test'
    let node: PluginSpecNode
    before(async () => {
      node = await nodeAsking(nameserver)
      const service = await node.bp.services.insert({name: 'foo', host: domainName})
      await node.bp.routes.insert({name: 'foo', paths: ['/foo'], service: {id: service.id}})
    })
    after(() => node?.close())

    it('release', async () => {
      await node.proxy.get('/foo', {headers: {host: domainName}})
      // Kong: "serving 'www.example.test' from mocks" in its log
      await until(`the nameserver to be asked for ${domainName}`, () => nameserver.queries(domainName) > 0, {timeoutMs: 30_000})
      assert.equal(udpSocketsTo(Number(nameserver.address.split(':')[1])), 0)
    })
  })

  describe('run in stream subsystem', () => {
    it('resolve domain name', {skip: 'kctl proxies HTTP(S) only: no stream (tcp) routes'}, () => {})
  })
})
