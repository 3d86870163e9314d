import assert from 'node:assert/strict'
import {createServer} from 'node:http'
import {once} from 'node:events'
import {describe, test} from 'node:test'
import {silentLogger} from '../../src/runtime/kit/log.js'
import {parseListen} from '../../src/runtime/proxy/listen.js'
import {createProxy} from '../../src/runtime/proxy/server.js'
import {buildSnapshot} from '../../src/runtime/proxy/snapshot.js'
import {route, service} from '../router/fixtures.js'
import {deadPort, entities, get, startProxy, startUpstream} from './helpers.js'
import {until} from '../helpers/until.js'

describe('proxy_listen parsing', () => {
  test("Kong's syntax", () => {
    assert.deepEqual(
      parseListen('0.0.0.0:8000, 0.0.0.0:8443 ssl http2 reuseport backlog=16384').map(({host, port, ssl, http2, reuseport}) => ({host, port, ssl, http2, reuseport})),
      [
        {host: '0.0.0.0', port: 8000, ssl: false, http2: false, reuseport: false},
        {host: '0.0.0.0', port: 8443, ssl: true, http2: true, reuseport: true},
      ],
    )
    assert.deepEqual(parseListen('[::1]:8000')[0].host, '::1')
    assert.deepEqual(parseListen('off'), [])
    assert.throws(() => parseListen('8000'), /invalid listen address '8000'/)
    assert.throws(() => parseListen('127.0.0.1:8000 bogus'), /invalid listen flag 'bogus'/)
  })
})

describe('proxy lifecycle', () => {
  test('a listen failure names the address', async (t) => {
    const blocker = createServer()
    blocker.listen(0, '127.0.0.1')
    await once(blocker, 'listening')
    t.after(() => new Promise((r) => blocker.close(r)))
    const port = (blocker.address() as {port: number}).port
    const proxy = createProxy({log: silentLogger})
    t.after(() => proxy.close())
    await assert.rejects(proxy.listen(parseListen(`127.0.0.1:${port}`)), {message: `could not listen on 127.0.0.1:${port}: address already in use`})
  })

  test('swap is atomic: an in-flight request keeps its snapshot; new ones use the new config', async (t) => {
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const slow = await startUpstream(t, 'slow', (_req, res) => {
      void gate.then(() => res.end('old'))
      return true
    })
    const fresh = await startUpstream(t, 'fresh')
    const s1 = service({url: `http://127.0.0.1:${slow.port}`})
    const s2 = service({url: `http://127.0.0.1:${fresh.port}`})
    const {proxy, port} = await startProxy(t, {services: [s1], routes: [route({paths: ['/'], service: {id: s1.id}})]})
    const inflight = get(port, '/')
    await until('the in-flight request to reach the upstream', () => slow.hits(), {intervalMs: 10})
    proxy.swap(buildSnapshot(entities({services: [s2], routes: [route({paths: ['/'], service: {id: s2.id}})]})))
    assert.equal((await get(port, '/')).json().upstream, 'fresh')
    release()
    assert.equal((await inflight).body, 'old')
  })

  test('close drains an in-flight request, then refuses new connections', async (t) => {
    const slow = await startUpstream(t, 'slow', (_req, res) => {
      setTimeout(() => res.end('finished'), 300)
      return true
    })
    const s = service({url: `http://127.0.0.1:${slow.port}`})
    const proxy = createProxy({log: silentLogger, initial: buildSnapshot(entities({services: [s], routes: [route({paths: ['/'], service: {id: s.id}})]}))})
    const port = await deadPort()
    await proxy.listen(parseListen(`127.0.0.1:${port}`))
    t.after(() => proxy.close())
    const inflight = get(port, '/')
    await until('the in-flight request to reach the upstream', () => slow.hits(), {intervalMs: 10})
    const closed = proxy.close()
    const r = await inflight
    assert.equal(r.status, 200)
    assert.equal(r.body, 'finished')
    await closed
    await assert.rejects(get(port, '/'), {code: 'ECONNREFUSED'})
  })

  test('handler works in-process; a bad config throws and leaves the old snapshot serving', async (t) => {
    const up = await startUpstream(t, 'a')
    const s = service({url: `http://127.0.0.1:${up.port}`})
    const {proxy, port} = await startProxy(t, {services: [s], routes: [route({paths: ['/ok'], service: {id: s.id}})]})
    const bad = route({paths: ['/x'], service: {id: s.id}})
    bad.paths = ['~/(']
    assert.throws(() => buildSnapshot(entities({services: [s], routes: [bad]})), /invalid regex path/)
    assert.equal((await get(port, '/ok')).status, 200)
    assert.equal(typeof proxy.handler, 'function')
    assert.equal(proxy.stats().total_requests >= 1, true)
  })
})
