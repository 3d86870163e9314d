/**
 * trusted_ips, real_ip_header and real_ip_recursive: the client address behind load
 * balancers (nginx's realip semantics) and the X-Forwarded-* headers a trusted one may set,
 * then through a real proxy.
 */
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {trustedIpErrors} from '../../src/runtime/conf/proxy-settings.js'
import {clientAddress, realIpSettings} from '../../src/runtime/proxy/real-ip.js'
import {route, service} from '../router/fixtures.js'
import {plugin} from '../plugins/fixtures.js'
import {get, startProxy, startUpstream, type Echo} from './helpers.js'

describe('real ip: the client address', () => {
  const lb = realIpSettings(['10.0.0.0/8', '192.168.1.1', 'fd00::/8'], 'X-Real-IP', false)

  test('an untrusted connection is its own address, whatever it claims', () => {
    assert.deepEqual(clientAddress('203.0.113.9', {'x-real-ip': '1.2.3.4'}, lb), {address: '203.0.113.9', trusted: false})
    assert.deepEqual(clientAddress('::ffff:203.0.113.9', {}, lb), {address: '203.0.113.9', trusted: false})
  })

  test('a trusted one names the client in real_ip_header; a value that is not an address is ignored', () => {
    assert.deepEqual(clientAddress('10.1.2.3', {'x-real-ip': '198.51.100.7'}, lb), {address: '198.51.100.7', trusted: true})
    assert.deepEqual(clientAddress('::ffff:192.168.1.1', {'x-real-ip': '2001:db8::1'}, lb), {address: '2001:db8::1', trusted: true})
    assert.deepEqual(clientAddress('fd00::5', {'x-real-ip': 'not-an-ip'}, lb), {address: 'fd00::5', trusted: true})
    assert.deepEqual(clientAddress('10.1.2.3', {}, lb), {address: '10.1.2.3', trusted: true})
  })

  test('X-Forwarded-For: the last address, or with real_ip_recursive the last one not itself trusted', () => {
    const xff = {'x-forwarded-for': '198.51.100.7, 203.0.113.5, 10.9.9.9'}
    assert.equal(clientAddress('10.1.2.3', xff, realIpSettings(['10.0.0.0/8'], 'X-Forwarded-For', false)).address, '10.9.9.9')
    assert.equal(clientAddress('10.1.2.3', xff, realIpSettings(['10.0.0.0/8'], 'X-Forwarded-For', true)).address, '203.0.113.5')
    const allTrusted = {'x-forwarded-for': '10.0.0.7, 10.0.0.8'}
    assert.equal(clientAddress('10.1.2.3', allTrusted, realIpSettings(['10.0.0.0/8'], 'X-Forwarded-For', true)).address, '10.0.0.7')
  })

  test("trusted_ips entries: addresses, CIDR blocks and unix:, with Kong's message for anything else", () => {
    assert.deepEqual(trustedIpErrors(['0.0.0.0/0', '::/0', '127.0.0.1', 'unix:', '2001:db8::/32']), [])
    assert.deepEqual(trustedIpErrors(['10.0.0.0/33', 'example.test']), [
      "trusted_ips must be a comma separated list in the form of IPv4 or IPv6 address or CIDR block or 'unix:', got '10.0.0.0/33'",
      "trusted_ips must be a comma separated list in the form of IPv4 or IPv6 address or CIDR block or 'unix:', got 'example.test'",
    ])
  })
})

describe('real ip: through the proxy', () => {
  async function setup(t: any, trusted: string[], plugins: any[] = []) {
    const up = await startUpstream(t, 'a')
    const s = service({host: '127.0.0.1', port: up.port})
    const r = route({paths: ['/p'], service: {id: s.id}})
    const {port} = await startProxy(t, {services: [s], routes: [r], plugins}, {realIp: realIpSettings(trusted, 'X-Real-IP', false)})
    return port
  }
  const claims = {'x-real-ip': '198.51.100.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'public.test', 'x-forwarded-port': '443', 'x-forwarded-prefix': '/outer'}

  test('from a trusted load balancer: its X-Forwarded-* kept, the real client in X-Real-IP and X-Forwarded-For', async (t) => {
    const port = await setup(t, ['127.0.0.1'])
    const echo: Echo = (await get(port, '/p/x', {headers: claims})).json()
    assert.equal(echo.headers['x-real-ip'], '198.51.100.7')
    assert.equal(echo.headers['x-forwarded-for'], '198.51.100.7')
    assert.equal(echo.headers['x-forwarded-proto'], 'https')
    assert.equal(echo.headers['x-forwarded-host'], 'public.test')
    assert.equal(echo.headers['x-forwarded-port'], '443')
    assert.equal(echo.headers['x-forwarded-prefix'], '/outer')
  })

  test('from anyone else (the default): the claims are replaced by what the node saw', async (t) => {
    const port = await setup(t, [])
    const echo: Echo = (await get(port, '/p/x', {headers: claims})).json()
    assert.equal(echo.headers['x-real-ip'], '127.0.0.1')
    assert.equal(echo.headers['x-forwarded-for'], '127.0.0.1')
    assert.equal(echo.headers['x-forwarded-proto'], 'http')
    assert.equal(echo.headers['x-forwarded-host'], '127.0.0.1')
    assert.equal(echo.headers['x-forwarded-port'], String(port))
    assert.equal(echo.headers['x-forwarded-prefix'], '/p')
  })

  test('plugins see the real client: ip-restriction denies the address behind the trusted proxy', async (t) => {
    const port = await setup(t, ['127.0.0.1'], [plugin('ip-restriction', {deny: ['198.51.100.0/24']})])
    assert.equal((await get(port, '/p/x', {headers: {'x-real-ip': '198.51.100.7'}})).status, 403)
    assert.equal((await get(port, '/p/x', {headers: {'x-real-ip': '203.0.113.1'}})).status, 200)
  })
})
