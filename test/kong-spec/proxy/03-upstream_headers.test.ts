/**
 * Kong's spec/02-integration/05-proxy/03-upstream_headers_spec.lua (3.9), ported: the same
 * describe/it titles and assertions, against a real node (Admin API over Postgres, its
 * proxy, Kong's mock upstream), strategy `postgres`. Where Kong restarts with other
 * settings (`trusted_ips`, `real_ip_header`, `real_ip_recursive`), a proxy with those
 * settings serves the same configuration (proxy-node.ts). PROXY protocol listeners and
 * `port_maps` are not kctl's: those blocks are skipped.
 */
import assert from 'node:assert/strict'
import {once} from 'node:events'
import {createServer as createNetServer, type Server as NetServer, type AddressInfo} from 'node:net'
import {createServer, type Server} from 'node:http'
import {after, before, describe, test as it} from 'node:test'
import {realIpSettings} from '../../../src/runtime/proxy/real-ip.js'
import type {KongClient} from '../admin-api/kong-client.js'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from '../plugins/kong-proxy.js'
import {proxyWith, type ExtraProxy} from './proxy-node.js'

const strategy = 'postgres'
const NO_PROXY_PROTOCOL = 'kctl has no PROXY protocol listeners (`proxy_listen … proxy_protocol`)'

describe(`Upstream header(s) [#${strategy}]`, () => {
  let node: PluginSpecNode
  let charset: Server
  before(async () => {
    node = await startPluginSpecNode()
    const bp = node.bp
    for (const route of [
      {protocols: ['http'], hosts: ['headers-inspect.test']},
      {protocols: ['http'], hosts: ['preserved.test'], preserve_host: true},
      {protocols: ['http'], paths: ['/foo'], strip_path: true},
      {protocols: ['http'], paths: ['/status/200'], strip_path: false},
      {protocols: ['http'], paths: ['/'], strip_path: true},
    ]) await bp.routes.insert(route)
    const route = await bp.routes.insert({protocols: ['http'], paths: ['/proxy-authorization'], strip_path: true})
    await bp.plugins.insert({
      route: {id: route.id},
      name: 'request-transformer',
      config: {add: {headers: ['Proxy-Authorization:Basic ZGVtbzp0ZXN0']}, replace: {headers: ['Proxy-Authorization:Basic ZGVtbzp0ZXN0']}},
    })
    // Kong's http_mock for "(response from upstream)"
    charset = createServer((req, res) => {
      res.writeHead(200, {'content-type': req.url === '/charset' ? 'text/plain; charset=utf-8' : 'text/plain'})
      res.end('Hello World!\n')
    })
    charset.listen(0, '127.0.0.1')
    await once(charset, 'listening')
    const service = await bp.services.insert({protocol: 'http', host: '127.0.0.1', port: (charset.address() as AddressInfo).port})
    await bp.routes.insert({hosts: ['headers-charset.test'], service: {id: service.id}})
  })
  after(async () => {
    charset?.close()
    await node?.close()
  })

  const requestHeaders = async (client: KongClient, headers: Record<string, string>, path = '/') =>
    JSON.parse(resStatus(200, await client.get(path, {headers}))).headers as Record<string, string>

  /** Kong's `start_kong` with these settings: a proxy serving the node's configuration. */
  const withSettings = (settings: Parameters<typeof proxyWith>[1]) => {
    const state = {} as {p: ExtraProxy; headers: (h: Record<string, string>, path?: string) => Promise<Record<string, string>>}
    before(async () => {
      state.p = await proxyWith(node, settings)
      state.headers = (h, path) => requestHeaders(state.p.proxy, h, path)
    })
    after(() => state.p?.close())
    return state
  }

  describe('hop-by-hop headers', () => {
    const request = (h: Record<string, string>, path?: string) => requestHeaders(node.proxy, h, path)

    it('are removed from request', async () => {
      const headers = await request({
        Connection: 'X-Foo, X-Bar',
        Host: 'headers-inspect.test',
        'Keep-Alive': 'timeout=5, max=1000',
        Proxy: 'Remove-Me', // See: https://httpoxy.org/
        'Proxy-Connection': 'close',
        // This is a response header, so we don't remove it, should we?
        'Proxy-Authenticate': 'Basic',
        'Proxy-Authorization': 'Basic YWxhZGRpbjpvcGVuc2VzYW1l',
        TE: 'trailers, deflate;q=0.5',
        Upgrade: 'example/1, foo/2',
        'X-Foo': 'Remove-Me',
        'X-Bar': 'Remove-Me',
        'X-Foo-Bar': 'Keep-Me',
        Close: 'Keep-Me',
      })
      assert.equal(headers['keep-alive'], undefined)
      assert.equal(headers.proxy, undefined)
      assert.equal(headers['proxy-connection'], undefined)
      assert.equal(headers.upgrade, undefined)
      assert.equal(headers['x-boo'], undefined)
      assert.equal(headers['x-bar'], undefined)
      assert.equal(headers['proxy-authenticate'], 'Basic')
      assert.equal(headers['proxy-authorization'], 'Basic YWxhZGRpbjpvcGVuc2VzYW1l')
      assert.equal(headers.te, 'trailers') // trailers are kept
      assert.equal(headers['x-foo-bar'], 'Keep-Me')
      assert.equal(headers.close, 'Keep-Me')
    })

    it('are removed from response', async () => {
      const res = await node.proxy.get('/hop-by-hop', {headers: {Host: 'headers-inspect.test'}})
      resStatus(200, res)
      assert.equal(res.headers.get('keep-alive'), null)
      assert.equal(res.headers.get('trailer'), null)
      assert.equal(res.headers.get('upgrade'), null)
      assert.equal(res.headers.get('transfer-encoding'), 'chunked')
    })

    it('keeps trailer when requested', async () => {
      const res = await node.proxy.get('/hop-by-hop', {headers: {Host: 'headers-inspect.test', TE: 'trailers'}})
      resStatus(200, res)
      assert.equal(res.headers.get('Trailer'), 'Expires')
    })

    it('keeps upgrade when upgrading', {skip: 'kctl proxies no WebSocket upgrades (Kong forwards `Upgrade: websocket` with `Connection: keep-alive, Upgrade`)'}, () => {})

    it('keeps proxy-authorization header when a plugin specifies it', async () => {
      let headers = await request({'Proxy-Authorization': 'Basic YWxhZGRpbjpvcGVuc2VzYW1l'}, '/proxy-authorization')
      assert.equal(headers['proxy-authorization'], 'Basic ZGVtbzp0ZXN0')
      headers = await request({}, '/proxy-authorization')
      assert.equal(headers['proxy-authorization'], 'Basic ZGVtbzp0ZXN0')
    })

    it('keeps proxy-authorization header if plugin specifies same value as in requests', async () => {
      const headers = await request({'Proxy-Authorization': 'Basic ZGVtbzp0ZXN0'}, '/proxy-authorization')
      assert.equal(headers['proxy-authorization'], 'Basic ZGVtbzp0ZXN0')
    })
  })

  describe('(response from upstream)', () => {
    describe('Content-Type', () => {
      it('does not add charset if the response from upstream contains no charset when charset is turned off', async () => {
        const res = await node.proxy.get('/nocharset', {headers: {Host: 'headers-charset.test'}})
        resStatus(200, res)
        assert.equal(res.headers.get('Content-Type'), 'text/plain')
      })

      it('charset remain unchanged if the response from upstream contains charset when charset is turned off', async () => {
        const res = await node.proxy.get('/charset', {headers: {Host: 'headers-charset.test'}})
        resStatus(200, res)
        assert.equal(res.headers.get('Content-Type'), 'text/plain; charset=utf-8')
      })
    })
  })

  describe('(using the default configuration values)', () => {
    const request = (h: Record<string, string>, path?: string) => requestHeaders(node.proxy, h, path)
    const port = () => node.proxyPort

    describe('X-Real-IP', () => {
      it('should be added if not present in request', async () => {
        assert.equal((await request({Host: 'headers-inspect.test'}))['x-real-ip'], '127.0.0.1')
      })
      it('should be replaced if present in request', async () => {
        assert.equal((await request({Host: 'headers-inspect.test', 'X-Real-IP': '10.0.0.1'}))['x-real-ip'], '127.0.0.1')
      })
    })

    describe('X-Forwarded-For', () => {
      it('should be added if not present in request', async () => {
        assert.equal((await request({Host: 'headers-inspect.test'}))['x-forwarded-for'], '127.0.0.1')
      })
      it('should be appended if present in request', async () => {
        assert.equal((await request({Host: 'headers-inspect.test', 'X-Forwarded-For': '10.0.0.1'}))['x-forwarded-for'], '10.0.0.1, 127.0.0.1')
      })
    })

    describe('X-Forwarded-Proto', () => {
      it('should be added if not present in request', async () => {
        assert.equal((await request({Host: 'headers-inspect.test'}))['x-forwarded-proto'], 'http')
      })
      it('should be replaced if present in request', async () => {
        assert.equal((await request({Host: 'headers-inspect.test', 'X-Forwarded-Proto': 'https'}))['x-forwarded-proto'], 'http')
      })
    })

    describe('X-Forwarded-Host', () => {
      it('should be added if not present in request', async () => {
        assert.equal((await request({Host: 'headers-inspect.test'}))['x-forwarded-host'], 'headers-inspect.test')
      })
      it('should be replaced if present in request', async () => {
        assert.equal((await request({Host: 'headers-inspect.test', 'X-Forwarded-Host': 'example.test'}))['x-forwarded-host'], 'headers-inspect.test')
      })
    })

    describe('X-Forwarded-Port', () => {
      it('should be added if not present in request', async () => {
        assert.equal(Number((await request({Host: 'headers-inspect.test'}))['x-forwarded-port']), port())
      })
      it('should be replaced if present in request', async () => {
        assert.equal(Number((await request({Host: 'headers-inspect.test', 'X-Forwarded-Port': '80'}))['x-forwarded-port']), port())
      })
    })

    describe('X-Forwarded-Path', () => {
      it('should be added if not present in request', async () => {
        assert.equal((await request({Host: 'headers-inspect.test'}))['x-forwarded-path'], '/')
      })
      it('should be replaced if present in request', async () => {
        assert.equal((await request({Host: 'headers-inspect.test', 'X-Forwarded-Path': '/replaced'}))['x-forwarded-path'], '/')
      })
    })

    describe('X-Forwarded-Prefix', () => {
      it('should be added if path was stripped', async () => {
        assert.equal((await request({}, '/foo/status/200'))['x-forwarded-prefix'], '/foo')
      })
      it('should be replaced if present in request and path was stripped', async () => {
        assert.equal((await request({'X-Forwarded-Prefix': '/replaced'}, '/foo'))['x-forwarded-prefix'], '/foo')
      })
      it('should not be added if path was not stripped', async () => {
        assert.equal((await request({}, '/status/200'))['x-forwarded-prefix'], undefined)
      })
      it('should not be added if / was stripped', async () => {
        assert.equal((await request({}, '/'))['x-forwarded-prefix'], undefined)
      })
    })

    describe('with the downstream host preserved', () => {
      it('should be added if not present in request while preserving the downstream host', async () => {
        const headers = await request({Host: 'preserved.test'})
        assert.equal(headers.host, 'preserved.test')
        assert.equal(headers['x-real-ip'], '127.0.0.1')
        assert.equal(headers['x-forwarded-for'], '127.0.0.1')
        assert.equal(headers['x-forwarded-proto'], 'http')
        assert.equal(headers['x-forwarded-host'], 'preserved.test')
        assert.equal(headers['x-forwarded-path'], '/')
        assert.equal(Number(headers['x-forwarded-port']), port())
      })

      it('should be added if present in request while preserving the downstream host', async () => {
        const headers = await request({
          Host: 'preserved.test',
          'X-Real-IP': '10.0.0.1',
          'X-Forwarded-For': '10.0.0.1',
          'X-Forwarded-Proto': 'https',
          'X-Forwarded-Host': 'example.test',
          'X-Forwarded-Port': '80',
        })
        assert.equal(headers.host, 'preserved.test')
        assert.equal(headers['x-real-ip'], '127.0.0.1')
        assert.equal(headers['x-forwarded-for'], '10.0.0.1, 127.0.0.1')
        assert.equal(headers['x-forwarded-proto'], 'http')
        assert.equal(headers['x-forwarded-host'], 'preserved.test')
        assert.equal(Number(headers['x-forwarded-port']), port())
        assert.equal(headers['x-forwarded-path'], '/')
      })
    })

    describe('with the downstream host discarded', () => {
      it('should be added if not present in request while discarding the downstream host', async () => {
        const headers = await request({Host: 'headers-inspect.test'})
        assert.equal(headers.host, `127.0.0.1:${node.upstream.port}`)
        assert.equal(headers['x-real-ip'], '127.0.0.1')
        assert.equal(headers['x-forwarded-for'], '127.0.0.1')
        assert.equal(headers['x-forwarded-proto'], 'http')
        assert.equal(headers['x-forwarded-host'], 'headers-inspect.test')
        assert.equal(Number(headers['x-forwarded-port']), port())
        assert.equal(headers['x-forwarded-path'], '/')
      })

      it('if present in request while discarding the downstream host', async () => {
        const headers = await request({
          Host: 'headers-inspect.test',
          'X-Real-IP': '10.0.0.1',
          'X-Forwarded-For': '10.0.0.1',
          'X-Forwarded-Proto': 'https',
          'X-Forwarded-Host': 'example.test',
          'X-Forwarded-Port': '80',
        })
        assert.equal(headers.host, `127.0.0.1:${node.upstream.port}`)
        assert.equal(headers['x-real-ip'], '127.0.0.1')
        assert.equal(headers['x-forwarded-for'], '10.0.0.1, 127.0.0.1')
        assert.equal(headers['x-forwarded-proto'], 'http')
        assert.equal(headers['x-forwarded-host'], 'headers-inspect.test')
        assert.equal(Number(headers['x-forwarded-port']), port())
        assert.equal(headers['x-forwarded-path'], '/')
      })
    })
  })

  describe('(using the trusted configuration values)', () => {
    const s = withSettings({realIp: realIpSettings(['127.0.0.1'], 'X-Real-IP', false)})

    describe('X-Real-IP', () => {
      it('should be added if not present in request', async () => {
        assert.equal((await s.headers({Host: 'headers-inspect.test'}))['x-real-ip'], '127.0.0.1')
      })
      it('should be forwarded if present in request', async () => {
        assert.equal((await s.headers({Host: 'headers-inspect.test', 'X-Real-IP': '10.0.0.1'}))['x-real-ip'], '10.0.0.1')
      })
    })

    describe('X-Forwarded-For', () => {
      it('should be added if not present in request', async () => {
        assert.equal((await s.headers({Host: 'headers-inspect.test'}))['x-forwarded-for'], '127.0.0.1')
      })
      it('should be appended if present in request', async () => {
        assert.equal((await s.headers({Host: 'headers-inspect.test', 'X-Forwarded-For': '10.0.0.1'}))['x-forwarded-for'], '10.0.0.1, 127.0.0.1')
      })
    })

    describe('X-Forwarded-Proto', () => {
      it('should be added if not present in request', async () => {
        assert.equal((await s.headers({Host: 'headers-inspect.test'}))['x-forwarded-proto'], 'http')
      })
      it('should be forwarded if present in request', async () => {
        assert.equal((await s.headers({Host: 'headers-inspect.test', 'X-Forwarded-Proto': 'https'}))['x-forwarded-proto'], 'https')
      })
    })

    describe('X-Forwarded-Host', () => {
      it('should be added if not present in request', async () => {
        assert.equal((await s.headers({Host: 'headers-inspect.test'}))['x-forwarded-host'], 'headers-inspect.test')
      })
      it('should be forwarded if present in request', async () => {
        assert.equal((await s.headers({Host: 'headers-inspect.test', 'X-Forwarded-Host': 'example.test'}))['x-forwarded-host'], 'example.test')
      })
    })

    describe('X-Forwarded-Port', () => {
      it('should be added if not present in request', async () => {
        assert.equal(Number((await s.headers({Host: 'headers-inspect.test'}))['x-forwarded-port']), s.p.port)
      })
      it('should be forwarded if present in request', async () => {
        assert.equal((await s.headers({Host: 'headers-inspect.test', 'X-Forwarded-Port': '80'}))['x-forwarded-port'], '80')
      })
    })

    describe('X-Forwarded-Path', () => {
      it('should be added if not present in request', async () => {
        assert.equal((await s.headers({Host: 'headers-inspect.test'}))['x-forwarded-path'], '/')
      })
      it('should be forwarded if present in request', async () => {
        assert.equal((await s.headers({Host: 'headers-inspect.test', 'X-Forwarded-Path': '/original-path'}))['x-forwarded-path'], '/original-path')
      })
    })

    describe('X-Forwarded-Prefix', () => {
      it('should be preserved even if path was stripped', async () => {
        assert.equal((await s.headers({'x-forwarded-prefix': '/preserved'}, '/foo/status/200'))['x-forwarded-prefix'], '/preserved')
      })
      // Kong's file has two tests of this title: stripped (/foo) and not (/status/200)
      it('should be preserved even if path was stripped', async () => {
        assert.equal((await s.headers({'x-forwarded-prefix': '/preserved'}, '/status/200'))['x-forwarded-prefix'], '/preserved')
      })
    })
  })

  describe('(using the non-trusted configuration values)', () => {
    const s = withSettings({realIp: realIpSettings(['10.0.0.1'], 'X-Real-IP', false)})

    describe('X-Real-IP', () => {
      it('should be added if not present in request', async () => {
        assert.equal((await s.headers({Host: 'headers-inspect.test'}))['x-real-ip'], '127.0.0.1')
      })
      it('should be replaced if present in request', async () => {
        assert.equal((await s.headers({Host: 'headers-inspect.test', 'X-Real-IP': '10.0.0.1'}))['x-real-ip'], '127.0.0.1')
      })
    })

    describe('X-Forwarded-For', () => {
      it('should be added if not present in request', async () => {
        assert.equal((await s.headers({Host: 'headers-inspect.test'}))['x-forwarded-for'], '127.0.0.1')
      })
      it('should be appended if present in request', async () => {
        assert.equal((await s.headers({Host: 'headers-inspect.test', 'X-Forwarded-For': '10.0.0.1'}))['x-forwarded-for'], '10.0.0.1, 127.0.0.1')
      })
    })

    describe('X-Forwarded-Proto', () => {
      it('should be added if not present in request', async () => {
        assert.equal((await s.headers({Host: 'headers-inspect.test'}))['x-forwarded-proto'], 'http')
      })
      it('should be replaced if present in request', async () => {
        assert.equal((await s.headers({Host: 'headers-inspect.test', 'X-Forwarded-Proto': 'https'}))['x-forwarded-proto'], 'http')
      })
    })

    describe('X-Forwarded-Host', () => {
      it('should be added if not present in request', async () => {
        assert.equal((await s.headers({Host: 'headers-inspect.test'}))['x-forwarded-host'], 'headers-inspect.test')
      })
      it('should be replaced if present in request', async () => {
        assert.equal((await s.headers({Host: 'headers-inspect.test', 'X-Forwarded-Host': 'example.test'}))['x-forwarded-host'], 'headers-inspect.test')
      })
    })

    describe('X-Forwarded-Port', () => {
      it('should be added if not present in request', async () => {
        assert.equal(Number((await s.headers({Host: 'headers-inspect.test'}))['x-forwarded-port']), s.p.port)
      })
      it('should be replaced if present in request', async () => {
        assert.equal(Number((await s.headers({Host: 'headers-inspect.test', 'X-Forwarded-Port': '80'}))['x-forwarded-port']), s.p.port)
      })
    })

    describe('X-Forwarded-Path', () => {
      it('should be added if not present in request', async () => {
        assert.equal((await s.headers({Host: 'headers-inspect.test'}))['x-forwarded-path'], '/')
      })
      it('should be replaced if present in request', async () => {
        assert.equal((await s.headers({Host: 'headers-inspect.test', 'X-Forwarded-Path': '/untrusted'}))['x-forwarded-path'], '/')
      })
    })

    describe('X-Forwarded-Prefix', () => {
      it('should be added if path was stripped', async () => {
        assert.equal((await s.headers({}, '/foo/status/200'))['x-forwarded-prefix'], '/foo')
      })
      it('should be replaced if present in request and path was stripped', async () => {
        assert.equal((await s.headers({'X-Forwarded-Prefix': '/replaced'}, '/foo'))['x-forwarded-prefix'], '/foo')
      })
      it('should not be added if path was not stripped', async () => {
        assert.equal((await s.headers({}, '/status/200'))['x-forwarded-prefix'], undefined)
      })
      it('should not be added if / was stripped', async () => {
        assert.equal((await s.headers({}, '/'))['x-forwarded-prefix'], undefined)
      })
    })
  })

  describe('(using the recursive trusted configuration values)', () => {
    const s = withSettings({realIp: realIpSettings(['127.0.0.1', '172.16.0.1', '192.168.0.1'], 'X-Forwarded-For', true)})

    describe('X-Real-IP and X-Forwarded-For', () => {
      it('should be added if not present in request', async () => {
        const headers = await s.headers({Host: 'headers-inspect.test'})
        assert.equal(headers['x-real-ip'], '127.0.0.1')
        assert.equal(headers['x-forwarded-for'], '127.0.0.1')
      })

      it('should be changed according to rules if present in request', async () => {
        const headers = await s.headers({
          Host: 'headers-inspect.test',
          'X-Forwarded-For': '127.0.0.1, 10.0.0.1, 192.168.0.1, 127.0.0.1, 172.16.0.1',
          'X-Real-IP': '10.0.0.2',
        })
        assert.equal(headers['x-real-ip'], '10.0.0.1')
        assert.equal(headers['x-forwarded-for'], '127.0.0.1, 10.0.0.1, 192.168.0.1, 127.0.0.1, 172.16.0.1, 127.0.0.1')
      })
    })

    describe('X-Forwarded-Port', () => {
      it('should be forwarded even if X-Forwarded-For header has a port in it', async () => {
        const headers = await s.headers({
          Host: 'headers-inspect.test',
          'X-Forwarded-For': '127.0.0.1:14, 10.0.0.1:15, 192.168.0.1:16, 127.0.0.1:17, 172.16.0.1:18',
          'X-Real-IP': '10.0.0.2',
          'X-Forwarded-Port': '14',
        })
        assert.equal(headers['x-real-ip'], '10.0.0.1')
        assert.equal(headers['x-forwarded-for'], '127.0.0.1:14, 10.0.0.1:15, 192.168.0.1:16, 127.0.0.1:17, 172.16.0.1:18, 127.0.0.1')
        assert.equal(Number(headers['x-forwarded-port']), 14)
      })

      it('should take a port from X-Forwarded-For header if it has a port in it', {todo: "pending in Kong's own file"}, () => {})
    })
  })

  describe('(using the recursive non-trusted configuration values)', () => {
    const s = withSettings({realIp: realIpSettings(['10.0.0.1', '172.16.0.1', '192.168.0.1'], 'X-Forwarded-For', true)})

    describe('X-Real-IP and X-Forwarded-For', () => {
      it('should be added if not present in request', async () => {
        const headers = await s.headers({Host: 'headers-inspect.test'})
        assert.equal(headers['x-real-ip'], '127.0.0.1')
        assert.equal(headers['x-forwarded-for'], '127.0.0.1')
      })

      it('should be changed according to rules if present in request', async () => {
        const headers = await s.headers({
          Host: 'headers-inspect.test',
          'X-Forwarded-For': '10.0.0.1, 127.0.0.2, 10.0.0.1, 192.168.0.1, 172.16.0.1',
          'X-Real-IP': '10.0.0.2',
        })
        assert.equal(headers['x-real-ip'], '127.0.0.1')
        assert.equal(headers['x-forwarded-for'], '10.0.0.1, 127.0.0.2, 10.0.0.1, 192.168.0.1, 172.16.0.1, 127.0.0.1')
      })
    })

    describe('X-Forwarded-Port', () => {
      it('should be replaced even if X-Forwarded-Port and X-Forwarded-For headers have a port in it', async () => {
        const headers = await s.headers({
          Host: 'headers-inspect.test',
          'X-Forwarded-For': '127.0.0.1:14, 10.0.0.1:15, 192.168.0.1:16, 127.0.0.1:17, 172.16.0.1:18',
          'X-Real-IP': '10.0.0.2',
          'X-Forwarded-Port': '14',
        })
        assert.equal(headers['x-real-ip'], '127.0.0.1')
        assert.equal(headers['x-forwarded-for'], '127.0.0.1:14, 10.0.0.1:15, 192.168.0.1:16, 127.0.0.1:17, 172.16.0.1:18, 127.0.0.1')
        assert.equal(Number(headers['x-forwarded-port']), s.p.port)
      })

      it('should not take a port from X-Forwarded-For header if it has a port in it', async () => {
        const headers = await s.headers({
          Host: 'headers-inspect.test',
          'X-Forwarded-For': '127.0.0.1:14, 10.0.0.1:15, 192.168.0.1:16, 127.0.0.1:17, 172.16.0.1:18',
          'X-Real-IP': '10.0.0.2',
        })
        assert.equal(headers['x-real-ip'], '127.0.0.1')
        assert.equal(headers['x-forwarded-for'], '127.0.0.1:14, 10.0.0.1:15, 192.168.0.1:16, 127.0.0.1:17, 172.16.0.1:18, 127.0.0.1')
        assert.equal(Number(headers['x-forwarded-port']), s.p.port)
      })
    })
  })

  describe('(using trusted proxy protocol configuration values)', () => {
    describe('X-Real-IP, X-Forwarded-For and X-Forwarded-Port', () => {
      it('should be added if not present in request', {skip: NO_PROXY_PROTOCOL}, () => {})
      it('should be changed according to rules if present in request', {skip: NO_PROXY_PROTOCOL}, () => {})
    })
    describe('X-Forwarded-Port', () => {
      it('should be forwarded even if proxy protocol and X-Forwarded-For header has a port in it', {skip: NO_PROXY_PROTOCOL}, () => {})
    })
  })

  describe('(using non-trusted proxy protocol configuration values)', () => {
    describe('X-Real-IP, X-Forwarded-For and X-Forwarded-Port', () => {
      it('should be added if not present in request', {skip: NO_PROXY_PROTOCOL}, () => {})
      it('should be changed according to rules if present in request', {skip: NO_PROXY_PROTOCOL}, () => {})
    })
    describe('X-Forwarded-Port', () => {
      it('should be replaced even if proxy protocol, X-Forwarded-Port and X-Forwarded-For headers have a port in it', {skip: NO_PROXY_PROTOCOL}, () => {})
    })
  })

  describe('(using port maps configuration)', () => {
    const NO_PORT_MAPS = 'kctl has no `port_maps` setting (X-Forwarded-Port is the port the node listens on)'
    describe('X-Forwarded-Port', () => {
      it('should be added if not present in request', {skip: NO_PORT_MAPS}, () => {})
      it('should be replaced if present in request', {skip: NO_PORT_MAPS}, () => {})
    })
  })
})

describe('host_header should be set correctly', () => {
  let node: PluginSpecNode
  let server: NetServer
  before(async () => {
    node = await startPluginSpecNode()
    // Kong's fixture server block: closes every other connection without answering, else answers the Host it got
    let counter = 0
    server = createNetServer((socket) => {
      let data = ''
      socket.on('error', () => {})
      socket.on('data', (d) => {
        data += d.toString('latin1')
        if (!data.includes('\r\n\r\n')) return
        if (++counter % 2 !== 0) return void socket.destroy()
        const host = /\r\nhost: ([^\r]*)/i.exec(data)?.[1] ?? ''
        const body = `${host}\n`
        socket.end(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)
      })
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const upstream = (await node.admin.post('/upstreams', {body: {name: 'foo', host_header: 'foo.com'}})).json
    const target = await node.admin.post(`/upstreams/${upstream.id}/targets`, {body: {target: `127.0.0.1:${(server.address() as AddressInfo).port}`, weight: 50}})
    assert.equal(target.status, 201, target.text)
    const service = await node.bp.services.insert({name: 'retry_service', host: 'foo', retries: 5})
    await node.bp.routes.insert({service: {id: service.id}, paths: ['/hello'], strip_path: false})
  })
  after(async () => {
    server?.close()
    await node?.close()
  })

  it('when retries to upstream happen', async () => {
    const body = resStatus(200, await node.proxy.get('/hello'))
    assert.equal(body.trim(), 'foo.com') // Kong's ngx.say adds the newline
  })
})
