/**
 * Kong's spec/02-integration/05-proxy/33-request-id-header_spec.lua (3.9), ported: the same
 * describe/it titles and assertions, against a real node (Admin API over Postgres, its
 * proxy, Kong's mock upstream). Each `start_kong { headers = … }` is a proxy with that
 * setting serving the same configuration. kctl runs no Lua (`post-function`): a plugin
 * setting X-Kong-Request-Id is request-transformer (access, upstream) and
 * response-transformer (response, downstream), which is what these cases are about.
 */
import assert from 'node:assert/strict'
import {after, before, describe, test as it} from 'node:test'
import {headerPolicy, KONG_HEADERS} from '../../../src/runtime/proxy/kong-headers.js'
import type {KongClient} from '../admin-api/kong-client.js'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from '../plugins/kong-proxy.js'
import {proxyWith, type ExtraProxy} from './proxy-node.js'

const REQUEST_ID = 'X-Kong-Request-Id'
const HEX = /^[0-9a-f]+$/

describe(`${REQUEST_ID} header`, () => {
  let node: PluginSpecNode
  before(async () => {
    node = await startPluginSpecNode()
    const bp = node.bp
    const service = await bp.services.insert()
    await bp.routes.insert({protocols: ['http'], hosts: ['request_id'], service: {id: service.id}})
    const routePostFunc = await bp.routes.insert({protocols: ['http'], hosts: ['post-function-access'], service: {id: service.id}})
    await bp.plugins.insert({name: 'request-transformer', route: {id: routePostFunc.id}, config: {add: {headers: [`${REQUEST_ID}:overwritten`]}, replace: {headers: [`${REQUEST_ID}:overwritten`]}}})
    const routePostFunc2 = await bp.routes.insert({protocols: ['http'], hosts: ['post-function-header-filter'], service: {id: service.id}})
    await bp.plugins.insert({name: 'response-transformer', route: {id: routePostFunc2.id}, config: {add: {headers: [`${REQUEST_ID}:overwritten`]}, replace: {headers: [`${REQUEST_ID}:overwritten`]}}})
  })
  after(() => node?.close())

  /** Kong's `start_kong` with `headers` / `headers_upstream` (Kong's defaults for the other). */
  const start = (headers: readonly string[], upstream: readonly string[]) => {
    const state = {} as {p: ExtraProxy; client: KongClient}
    before(async () => {
      state.p = await proxyWith(node, {headers: headerPolicy(headers, upstream)})
      state.client = state.p.proxy
    })
    after(() => state.p?.close())
    return (host: string, path = '/') => state.client.get(path, {headers: {host}})
  }
  const DEFAULT_HEADERS = ['server_tokens', 'latency_tokens', 'X-Kong-Request-Id']
  const DEFAULT_UPSTREAM = ['X-Kong-Request-Id']

  describe('(downstream)', () => {
    describe('with default configuration', () => {
      const get = (host: string) => node.proxy.get('/', {headers: {host}})
      assert.ok(KONG_HEADERS.requestId)

      it('contains the expected value', async () => {
        const res = await get('request_id')
        resStatus(200, res)
        assert.match(res.headers.get(REQUEST_ID) ?? '', HEX)
      })

      it('should be populated when no API matched', async () => {
        const res = await get('404.test')
        const body = JSON.parse(resStatus(404, res))
        assert.match(body.message, /no Route matched with those values/)
        assert.match(res.headers.get(REQUEST_ID) ?? '', HEX)
      })

      it('overwrites value set by plugin', async () => {
        const res = await get('post-function-header-filter')
        resStatus(200, res)
        const downstreamHeader = res.headers.get(REQUEST_ID)
        assert.notEqual(downstreamHeader, null)
        assert.match(downstreamHeader!, HEX)
        assert.notEqual(downstreamHeader, 'overwritten')
      })
    })

    describe('with configuration [headers=X-Kong-Request-Id]', () => {
      const get = start(['X-Kong-Request-Id'], DEFAULT_UPSTREAM)

      it('contains the expected value', async () => {
        const res = await get('request_id')
        resStatus(200, res)
        assert.match(res.headers.get(REQUEST_ID) ?? '', HEX)
      })
    })

    describe('is not injected with configuration [headers=off]', () => {
      const get = start(['off'], DEFAULT_UPSTREAM)

      it('is nil', async () => {
        const res = await get('request_id')
        resStatus(200, res)
        assert.equal(res.headers.get(REQUEST_ID), null)
      })
    })
  })

  describe('(upstream)', () => {
    describe('default configuration', () => {
      const received = async (host: string, path: string, headers: Record<string, string> = {}) =>
        JSON.parse(resStatus(200, await node.proxy.get(path, {headers: {host, ...headers}}))).headers[REQUEST_ID.toLowerCase()]

      it('contains the expected value', async () => {
        assert.match(await received('request_id', '/anything'), HEX)
      })

      it('overwrites client value if any', async () => {
        const clientHeaderValue = 'client_value'
        const upstreamReceivedHeader = await received('request_id', '/anything', {'X-Kong-Request-Id': clientHeaderValue})
        assert.match(upstreamReceivedHeader, HEX)
        assert.notEqual(upstreamReceivedHeader, clientHeaderValue)
      })

      it('overwrites value set by plugin', async () => {
        const upstreamReceivedHeader = await received('post-function-access', '/')
        assert.match(upstreamReceivedHeader, HEX)
        assert.notEqual(upstreamReceivedHeader, 'overwritten')
      })
    })

    describe('is injected with configuration [headers=X-Kong-Request-Id]', () => {
      const get = start(DEFAULT_HEADERS, ['X-Kong-Request-Id'])

      it('contains the expected value', async () => {
        const body = JSON.parse(resStatus(200, await get('request_id')))
        assert.match(body.headers[REQUEST_ID.toLowerCase()], HEX)
      })
    })

    describe('is not injected with configuration [headers=off]', () => {
      const get = start(DEFAULT_HEADERS, ['off'])

      it('is nil', async () => {
        const body = JSON.parse(resStatus(200, await get('request_id')))
        assert.equal(body.headers[REQUEST_ID.toLowerCase()], undefined)
      })
    })
  })
})
