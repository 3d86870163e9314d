/**
 * Kong's spec/02-integration/05-proxy/15-upstream-status-header_spec.lua (3.9), ported: the
 * same describe/it titles (Kong leaves two empty) and assertions, against a real node
 * (Admin API over Postgres, its proxy, Kong's mock upstream). Each `start_kong { headers =
 * … }` is a proxy with that setting serving the same configuration. Kong's test plugins
 * `dummy` and `response-phase` and the `proxy-cache` plugin are not bundled: the buffered
 * case uses response-transformer with a JSON body rewrite, which buffers the response the
 * same way; the `dummy` and `proxy-cache` cases are skipped.
 */
import assert from 'node:assert/strict'
import {after, before, describe, test as it} from 'node:test'
import {headerPolicy} from '../../../src/runtime/proxy/kong-headers.js'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from '../plugins/kong-proxy.js'
import {proxyWith, type ExtraProxy} from './proxy-node.js'

const UPSTREAM_STATUS = 'X-Kong-Upstream-Status'
const MOCK_HOST = '127.0.0.1' // helpers.mock_upstream_host

describe(`${UPSTREAM_STATUS} header`, () => {
  let node: PluginSpecNode
  let route1: {id: string}
  before(async () => {
    node = await startPluginSpecNode()
    const bp = node.bp
    const service = await bp.services.insert()
    route1 = await bp.routes.insert({protocols: ['http'], paths: ['/status/200'], service: {id: service.id}})
    await bp.routes.insert({protocols: ['http'], paths: ['/status/plugin-changes-200-to-500'], service: {id: service.id}})
    const route3 = await bp.routes.insert({protocols: ['http'], paths: ['/status/non-proxied-request'], service: {id: service.id}})
    await bp.plugins.insert({name: 'key-auth', route: {id: route3.id}})
  })
  after(() => node?.close())

  const start = (headers: string) => {
    const state = {} as {p: ExtraProxy}
    before(async () => {
      state.p = await proxyWith(node, {headers: headerPolicy(headers.split(',').map((t) => t.trim()), ['X-Kong-Request-Id'])})
    })
    after(() => state.p?.close())
    return (path: string) => state.p.proxy.get(path, {headers: {host: MOCK_HOST}})
  }

  describe('should be same as upstream status code', () => {
    const get = start('server_tokens,latency_tokens,x-kong-upstream-status')

    it('when no plugin changes status code', async () => {
      const res = await get('/status/200')
      resStatus(200, res)
      assert.equal(res.headers.get(UPSTREAM_STATUS), '200')
    })

    it('when a plugin changes status code', {skip: "Kong's test plugin dummy (resp_code) is not bundled, and no bundled plugin changes a proxied response's status"}, () => {})
    it('should be set when proxy-cache is enabled', {skip: 'proxy-cache is not bundled'}, () => {})
  })

  describe('is not injected with default configuration', () => {
    it('', async () => {
      const res = await node.proxy.get('/status/200', {headers: {host: MOCK_HOST}})
      resStatus(200, res)
      assert.equal(res.headers.get(UPSTREAM_STATUS), null)
    })
  })

  for (const buffered of [false, true]) {
    describe(`is injected with configuration [headers=X-Kong-Upstream-Status]${buffered ? '(buffered)' : ''}`, () => {
      if (buffered) {
        before(async () => {
          // response-phase in Kong: a plugin whose response handler buffers the body
          await node.bp.plugins.insert({name: 'response-transformer', route: {id: route1.id}, config: {add: {json: ['buffered:true']}}})
        })
      }
      const get = start('X-Kong-Upstream-Status')

      it('', async () => {
        const res = await get('/status/200')
        const body = resStatus(200, res)
        if (buffered) assert.equal(JSON.parse(body).buffered, 'true', 'the response went through the buffered path')
        assert.equal(res.headers.get(UPSTREAM_STATUS), '200')
      })
    })
  }

  describe('short-circuited requests', () => {
    const get = start('X-Kong-Upstream-Status')

    it('empty when rejected by authentication plugin', async () => {
      const res = await get('/status/non-proxied-request')
      resStatus(401, res)
      assert.equal(res.headers.get(UPSTREAM_STATUS), null)
    })
  })
})
