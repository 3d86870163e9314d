/**
 * Kong's spec/03-plugins/17-ip-restriction/02-access_spec.lua (3.9), ported: the same
 * describe/it titles and assertions, against a real node (Admin API over Postgres, its
 * proxy, Kong's mock upstream). Kong runs it for each strategy; this is `postgres`.
 * Kong's three `start_kong` settings (`real_ip_header`, `real_ip_recursive`,
 * `trusted_ips`) are the proxy settings of one node per describe. `json.vars.remote_addr`
 * is what the mock upstream saw: the X-Real-IP the gateway sent, as Kong's mock upstream
 * (`set_real_ip_from 127.0.0.1`) reads it. gRPC and TCP stream cases are skipped: kctl
 * proxies neither.
 */
import assert from 'node:assert/strict'
import {after, before, describe, test as it} from 'node:test'
import {realIpSettings} from '../../../src/runtime/proxy/real-ip.js'
import {until} from '../../helpers/until.js'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from './kong-proxy.js'

const strategy = 'postgres'
const matches = (pattern: string, s: string) => assert.ok(s.includes(pattern), `expected '${s}' to match '${pattern}'`)
const NO_GRPC = 'kctl proxies no gRPC yet (Kong runs this against grpcbin)'
const NO_STREAM = 'kctl proxies no TCP/TLS streams (stream_listen)'
const TRUST_ALL = ['0.0.0.0/0', '::/0']

describe(`Plugin: ip-restriction (access) [#${strategy}]`, () => {
  let node: PluginSpecNode
  let plugin: any
  before(async () => {
    node = await startPluginSpecNode({realIp: realIpSettings(TRUST_ALL, 'X-Forwarded-For', true)})
    const bp = node.bp
    const routes: any[] = []
    for (let i = 1; i <= 12; i++) routes[i] = await bp.routes.insert({hosts: [`ip-restriction${i}.test`]})
    const ipr = (i: number, config: Record<string, unknown>) => bp.plugins.insert({name: 'ip-restriction', route: {id: routes[i].id}, config})
    await ipr(1, {deny: ['127.0.0.1', '127.0.0.2']})
    plugin = await ipr(2, {deny: ['127.0.0.2']})
    await ipr(3, {allow: ['127.0.0.2']})
    await ipr(4, {allow: ['127.0.0.1']})
    await ipr(5, {deny: ['127.0.0.0/24']})
    await ipr(6, {allow: ['127.0.0.4']})
    await ipr(7, {deny: ['127.0.0.4']})
    await ipr(8, {allow: ['0.0.0.0/0']})
    await ipr(9, {allow: ['127.0.0.1'], deny: ['127.0.0.1']})
    await ipr(10, {allow: ['127.0.0.0/24'], deny: ['127.0.0.1']})
    await ipr(11, {allow: ['127.0.0.0/24'], deny: ['127.0.0.0/24']})
    await ipr(12, {deny: ['127.0.0.0/24'], status: 401, message: 'Forbidden'})
    // Kong's grpc routes (ip-restriction-grpc1..3.test) and tcp/tls routes are not created: see the skips
  })
  after(() => node?.close())
  const get = (path: string, headers: Record<string, string>) => node.proxy.send('GET', path, {headers})

  describe('deny', () => {
    it('blocks a request when the IP is denied', async () => {
      const body = resStatus(403, await get('/status/200', {Host: 'ip-restriction1.test'}))
      matches('IP address not allowed', body)
    })
    it('blocks a request when the IP is denied with status/message', async () => {
      const res = await get('/status/200', {Host: 'ip-restriction12.test'})
      const json = JSON.parse(resStatus(401, res))
      assert.notEqual(json, undefined)
      matches('Forbidden', json.message)
    })
    it('blocks a request when the IP is denied #grpc', {skip: NO_GRPC}, () => {})
    it('blocks a request when the IP is denied #tcp', {skip: NO_STREAM}, () => {})
    it('allows a request when the IP is not denied', async () => {
      const json = JSON.parse(resStatus(200, await get('/request', {Host: 'ip-restriction2.test'})))
      assert.equal(json.vars.remote_addr, '127.0.0.1')
    })
    it('allows a request when the IP is not denied #grpc', {skip: NO_GRPC}, () => {})
    it('allows a request when the IP is not denied #tcp', {skip: NO_STREAM}, () => {})
    it('blocks IP with CIDR', async () => {
      matches('IP address not allowed', resStatus(403, await get('/status/200', {Host: 'ip-restriction5.test'})))
    })
    it('blocks an IP on a allowed CIDR range', async () => {
      matches('IP address not allowed', resStatus(403, await get('/status/200', {Host: 'ip-restriction10.test'})))
    })
    it('takes precedence over an allowed IP', async () => {
      matches('IP address not allowed', resStatus(403, await get('/status/200', {Host: 'ip-restriction9.test'})))
    })
    it('takes precedence over an allowed CIDR range', async () => {
      matches('IP address not allowed', resStatus(403, await get('/status/200', {Host: 'ip-restriction11.test'})))
    })

    describe('X-Forwarded-For', () => {
      it('allows without any X-Forwarded-For and allowed IP', async () => {
        const json = JSON.parse(resStatus(200, await get('/request', {Host: 'ip-restriction7.test'})))
        assert.equal(json.vars.remote_addr, '127.0.0.1')
      })
      it('allows with allowed X-Forwarded-For header', async () => {
        const json = JSON.parse(resStatus(200, await get('/request', {Host: 'ip-restriction7.test', 'X-Forwarded-For': '127.0.0.3'})))
        assert.equal(json.vars.remote_addr, '127.0.0.3')
      })
      it('blocks with not allowed X-Forwarded-For header', async () => {
        matches('IP address not allowed', resStatus(403, await get('/status/200', {Host: 'ip-restriction7.test', 'X-Forwarded-For': '127.0.0.4'})))
      })
    })
  })

  describe('allow', () => {
    it('blocks a request when the IP is not allowed', async () => {
      matches('IP address not allowed', resStatus(403, await get('/status/200', {Host: 'ip-restriction3.test'})))
    })
    it('allows a allowed IP', async () => {
      resStatus(200, await get('/status/200', {Host: 'ip-restriction4.test'}))
    })

    describe('X-Forwarded-For', () => {
      it('blocks without any X-Forwarded-For and not allowed IP', async () => {
        matches('IP address not allowed', resStatus(403, await get('/status/200', {Host: 'ip-restriction6.test'})))
      })
      it('block with not allowed X-Forwarded-For header', async () => {
        matches('IP address not allowed', resStatus(403, await get('/status/200', {Host: 'ip-restriction6.test', 'X-Forwarded-For': '127.0.0.3'})))
      })
      it('block with not allowed X-Forwarded-For header #grpc', {skip: NO_GRPC}, () => {})
      it('allows with allowed X-Forwarded-For header', async () => {
        resStatus(200, await get('/status/200', {Host: 'ip-restriction6.test', 'X-Forwarded-For': '127.0.0.4'}))
      })
      it('allows with allowed X-Forwarded-For header #grpc', {skip: NO_GRPC}, () => {})
      it('allows with allowed complex X-Forwarded-For header', async () => {
        resStatus(200, await get('/status/200', {Host: 'ip-restriction6.test', 'X-Forwarded-For': '127.0.0.4, 127.0.0.3'}))
      })
    })
  })

  it('supports config changes without restarting', async () => {
    resStatus(200, await get('/request', {Host: 'ip-restriction2.test'}))
    let res = await node.admin.send('PATCH', `/plugins/${plugin.id}`, {body: {config: {deny: ['127.0.0.1', '127.0.0.2']}}, headers: {'Content-Type': 'application/json'}})
    resStatus(200, res)
    // Kong's pwait_until
    res = await until('the proxy to refuse', () => get('/request', {Host: 'ip-restriction2.test'}), {ok: (r) => r.status === 403})
    matches('IP address not allowed', resStatus(403, res))
    res = await node.admin.send('PATCH', `/plugins/${plugin.id}`, {body: {config: {deny: ['127.0.0.2', '127.0.0.3']}}, headers: {'Content-Type': 'application/json'}})
    resStatus(200, res)
    res = await until('the proxy to let through', () => get('/request', {Host: 'ip-restriction2.test'}), {ok: (r) => r.status === 200})
    resStatus(200, res)
  })

  describe('#regression', () => {
    it('handles a CIDR entry with 0.0.0.0/0', async () => {
      resStatus(200, await get('/status/200', {Host: 'ip-restriction8.test'}))
    })
  })
})

describe(`Plugin: ip-restriction (access) [#${strategy}]`, () => {
  let node: PluginSpecNode
  let plugin: any
  before(async () => {
    // Kong's default real_ip_header: X-Real-IP
    node = await startPluginSpecNode({realIp: realIpSettings(TRUST_ALL, 'X-Real-IP', true)})
    const bp = node.bp
    const routes: any[] = []
    for (let i = 1; i <= 9; i++) routes[i] = await bp.routes.insert({hosts: [`ip-restriction${i}.test`]})
    const ipr = (i: number, config: Record<string, unknown>) => bp.plugins.insert({name: 'ip-restriction', route: {id: routes[i].id}, config})
    await ipr(1, {deny: ['::1', '::2']})
    plugin = await ipr(2, {deny: ['::2']})
    await ipr(3, {deny: ['fe80::/8']})
    await ipr(4, {allow: ['::2']})
    await ipr(5, {allow: ['::1']})
    await ipr(6, {allow: ['::/0']})
    await ipr(7, {allow: ['::1'], deny: ['::1']})
    await ipr(8, {allow: ['::1/128'], deny: ['::1']})
    await ipr(9, {allow: ['::1/128'], deny: ['::1/128']})
  })
  after(() => node?.close())
  const get = (path: string, headers: Record<string, string>) => node.proxy.send('GET', path, {headers})

  describe('deny', () => {
    it('blocks a request when the IPv6 is denied', async () => {
      matches('IP address not allowed', resStatus(403, await get('/status/200', {Host: 'ip-restriction1.test', 'X-Real-IP': '::1'})))
    })
    it('allows a request when the IPv6 is not denied', async () => {
      const json = JSON.parse(resStatus(200, await get('/request', {Host: 'ip-restriction2.test', 'X-Real-IP': '::1'})))
      assert.equal(json.vars.remote_addr, '::1')
    })
    it('blocks the IPv6 with CIDR', async () => {
      matches('IP address not allowed', resStatus(403, await get('/status/200', {Host: 'ip-restriction3.test', 'X-Real-IP': 'fe80::1'})))
    })
    it('blocks an IPv6 on a allowed IPv6 CIDR range', async () => {
      matches('IP address not allowed', resStatus(403, await get('/status/200', {Host: 'ip-restriction8.test', 'X-Real-IP': '::1'})))
    })
    it('takes precedence over an allowed IPv6', async () => {
      matches('IP address not allowed', resStatus(403, await get('/status/200', {Host: 'ip-restriction7.test', 'X-Real-IP': '::1'})))
    })
    it('takes precedence over an allowed IPv6 CIDR range', async () => {
      // no X-Real-IP in Kong's case: the client is 127.0.0.1, outside ::1/128 — refused by the allow list
      matches('IP address not allowed', resStatus(403, await get('/status/200', {Host: 'ip-restriction9.test'})))
    })
  })

  describe('allow', () => {
    it('blocks a request when the IPv6 is not allowed', async () => {
      matches('IP address not allowed', resStatus(403, await get('/status/200', {Host: 'ip-restriction4.test', 'X-Real-IP': '::1'})))
    })
    it('allows a allowed IPv6', async () => {
      const json = JSON.parse(resStatus(200, await get('/status/200', {Host: 'ip-restriction5.test', 'X-Real-IP': '::1'})))
      assert.equal(json.vars.remote_addr, '::1')
    })
  })

  it('supports config changes without restarting', async () => {
    let json = JSON.parse(resStatus(200, await get('/request', {Host: 'ip-restriction2.test', 'X-Real-IP': '::1'})))
    assert.equal(json.vars.remote_addr, '::1')
    resStatus(200, await node.admin.send('PATCH', `/plugins/${plugin.id}`, {body: {config: {deny: ['::1', '::2']}}, headers: {'Content-Type': 'application/json'}}))
    // Kong's wait_for_all_config_update: kctl answers a write once its proxy has rebuilt
    matches('IP address not allowed', resStatus(403, await get('/request', {Host: 'ip-restriction2.test', 'X-Real-IP': '::1'})))
    resStatus(200, await node.admin.send('PATCH', `/plugins/${plugin.id}`, {body: {config: {deny: ['::2', '::3']}}, headers: {'Content-Type': 'application/json'}}))
    json = JSON.parse(resStatus(200, await get('/request', {Host: 'ip-restriction2.test', 'X-Real-IP': '::1'})))
    assert.equal(json.vars.remote_addr, '::1')
  })

  describe('#regression', () => {
    it('handles a CIDR entry with ::/0', async () => {
      const json = JSON.parse(resStatus(200, await get('/status/200', {Host: 'ip-restriction6.test', 'X-Real-IP': '::1'})))
      assert.equal(json.vars.remote_addr, '::1')
    })
  })
})

describe(`Plugin: ip-restriction (access) [#${strategy}]`, () => {
  let node: PluginSpecNode
  before(async () => {
    node = await startPluginSpecNode({realIp: realIpSettings(TRUST_ALL, 'X-Forwarded-For', true)})
    const bp = node.bp
    const route1 = await bp.routes.insert({hosts: ['ip-restriction1.test']})
    const route2 = await bp.routes.insert({hosts: ['ip-restriction2.test']})
    await bp.plugins.insert({name: 'ip-restriction', route: {id: route1.id}, config: {deny: ['::4']}})
    await bp.plugins.insert({name: 'ip-restriction', route: {id: route2.id}, config: {allow: ['::4']}})
  })
  after(() => node?.close())
  const get = (path: string, headers: Record<string, string>) => node.proxy.send('GET', path, {headers})

  describe('deny', () => {
    it('allows with allowed X-Forwarded-For header', async () => {
      const json = JSON.parse(resStatus(200, await get('/request', {Host: 'ip-restriction1.test', 'X-Forwarded-For': '::3'})))
      assert.equal(json.vars.remote_addr, '::3')
    })
    it('blocks with not allowed X-Forwarded-For header', async () => {
      matches('IP address not allowed', resStatus(403, await get('/status/200', {Host: 'ip-restriction1.test', 'X-Forwarded-For': '::4'})))
    })
    it('blocks with blocked complex X-Forwarded-For header', async () => {
      matches('IP address not allowed', resStatus(403, await get('/status/200', {Host: 'ip-restriction1.test', 'X-Forwarded-For': '::4, ::3'})))
    })
    it('allows with allowed complex X-Forwarded-For header', async () => {
      const json = JSON.parse(resStatus(200, await get('/status/200', {Host: 'ip-restriction1.test', 'X-Forwarded-For': '::3, ::4'})))
      assert.equal(json.vars.remote_addr, '::3')
    })
  })

  describe('allow', () => {
    it('block with not allowed X-Forwarded-For header', async () => {
      matches('IP address not allowed', resStatus(403, await get('/status/200', {Host: 'ip-restriction2.test', 'X-Forwarded-For': '::3'})))
    })
    it('allows with allowed X-Forwarded-For header', async () => {
      const json = JSON.parse(resStatus(200, await get('/status/200', {Host: 'ip-restriction2.test', 'X-Forwarded-For': '::4'})))
      assert.equal(json.vars.remote_addr, '::4')
    })
    it('allows with allowed complex X-Forwarded-For header', async () => {
      const json = JSON.parse(resStatus(200, await get('/status/200', {Host: 'ip-restriction2.test', 'X-Forwarded-For': '::4, ::3'})))
      assert.equal(json.vars.remote_addr, '::4')
    })
    it('blocks with blocked complex X-Forwarded-For header', async () => {
      matches('IP address not allowed', resStatus(403, await get('/status/200', {Host: 'ip-restriction2.test', 'X-Forwarded-For': '::3, ::4'})))
    })
  })
})
