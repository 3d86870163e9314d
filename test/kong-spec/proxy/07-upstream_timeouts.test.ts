/**
 * Kong's spec/02-integration/05-proxy/07-upstream_timeouts_spec.lua (3.9), ported: the same
 * describe/it titles and assertions, against a real node (Admin API over Postgres, its
 * proxy), strategy `postgres`. Kong's `konghq.com:81` (a connect that never completes) is a
 * loopback port whose accept queue is full (test/proxy/blackhole.ts); its mock upstream's
 * `/delay/2` and a peer that does not read a 32 MiB body are servers started here.
 * `pre-function`'s `kong.service.request.enable_buffering()` is what kctl does with every
 * request body (buffered unless the route says `request_buffering = false`). Kong's test
 * plugin `ctx-checker-last` is not bundled: "sets status for last try" is skipped.
 */
import assert from 'node:assert/strict'
import {once} from 'node:events'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {after, before, describe, test as it} from 'node:test'
import {startBlackhole} from '../../proxy/blackhole.js'
import {startPluginSpecNode, type PluginSpecNode} from '../plugins/kong-proxy.js'

const strategy = 'postgres'

describe(`upstream timeouts with DB: #${strategy}`, () => {
  let node: PluginSpecNode
  let slow: Server
  const cleanups: Array<() => unknown> = []
  before(async () => {
    node = await startPluginSpecNode()
    const blackhole = await startBlackhole({after: (fn) => cleanups.push(fn)})
    // /delay/2 answers after two seconds; a POST's body is never read
    slow = createServer((req, res) => {
      if (req.method === 'POST') return void req.pause()
      const t = setTimeout(() => res.end('{}'), 2000)
      res.on('close', () => clearTimeout(t))
    })
    slow.listen(0, '127.0.0.1')
    await once(slow, 'listening')
    const slowPort = (slow.address() as AddressInfo).port
    const insert = async (methods: string[], service: Record<string, unknown>) => {
      const s = await node.bp.services.insert(service)
      await node.bp.routes.insert({methods, protocols: ['http'], service: {id: s.id}})
    }
    await insert(['HEAD'], {name: 'api-1', protocol: 'http', host: '127.0.0.1', port: blackhole.port, connect_timeout: 1})
    await insert(['POST'], {name: 'api-2', host: '127.0.0.1', port: slowPort, write_timeout: 1})
    await insert(['GET'], {name: 'api-3', host: '127.0.0.1', port: slowPort, read_timeout: 1})
    await insert(['PUT'], {name: 'api-4', protocol: 'http', host: '127.0.0.1', port: blackhole.port, connect_timeout: 1})
  })
  after(async () => {
    slow?.closeAllConnections()
    slow?.close()
    for (const fn of cleanups) await fn()
    await node?.close()
  })

  describe('upstream_connect_timeout', () => {
    it('sets upstream connect timeout value', async () => {
      const res = await node.proxy.send('HEAD', '/')
      assert.equal(res.status, 504)
    })
  })

  describe('upstream_read_timeout', () => {
    it('sets upstream read timeout value', async () => {
      const res = await node.proxy.get('/delay/2')
      assert.equal(res.status, 504, res.text)
    })

    it('sets status for last try', {skip: "Kong's test plugin ctx-checker-last is not bundled (each try's state is in the node's log)"}, () => {})
  })

  describe('upstream_send_timeout', () => {
    it('sets upstream send timeout value', async () => {
      const res = await node.proxy.post('/post', {body: {huge: 'a'.repeat(2 ** 25)}, headers: {'Content-Type': 'application/json'}})
      // do *not* use assert.res_status() here in case of failure to avoid a very large error log
      assert.equal(res.status, 504)
    })
  })

  describe('upstream_connect_timeout with enable_buffering', () => {
    it('sets upstream send timeout value', async () => {
      const res = await node.proxy.put('/put', {body: {huge: 'a'.repeat(2 ** 25)}, headers: {'Content-Type': 'application/json'}})
      assert.equal(res.status, 504)
    })
  })
})
