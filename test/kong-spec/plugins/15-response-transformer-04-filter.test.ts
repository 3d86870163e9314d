/**
 * Kong's spec/03-plugins/15-response-transformer/04-filter_spec.lua (3.9), ported: the
 * same describe/it titles and assertions, against a real node (Admin API over Postgres,
 * its proxy, Kong's mock upstream), strategy `postgres`.
 */
import assert from 'node:assert/strict'
import {after, before, describe, test as it} from 'node:test'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from './kong-proxy.js'

const strategy = 'postgres'

describe(`Plugin: response-transformer (filter) [#${strategy}]`, () => {
  let node: PluginSpecNode
  before(async () => {
    node = await startPluginSpecNode()
    const bp = node.bp
    const route1 = await bp.routes.insert({hosts: ['response.test']})
    const route2 = await bp.routes.insert({hosts: ['response2.test']})
    const route3 = await bp.routes.insert({hosts: ['response3.test']})
    await bp.plugins.insert({route: {id: route1.id}, name: 'response-transformer', config: {remove: {headers: ['Access-Control-Allow-Origin'], json: ['url']}}})
    await bp.plugins.insert({route: {id: route2.id}, name: 'response-transformer', config: {replace: {json: ['headers:/hello/world', 'uri_args:this is a / test', 'url:"wot"']}}})
    await bp.plugins.insert({route: {id: route3.id}, name: 'response-transformer', config: {remove: {json: ['ip']}}})
    await bp.plugins.insert({route: {id: route3.id}, name: 'basic-auth'})
  })
  after(() => node?.close())
  const get = (path: string, host: string) => node.proxy.get(path, {headers: {host}})

  describe('parameters', () => {
    it('remove a parameter', async () => {
      const json = JSON.parse(resStatus(200, await get('/get', 'response.test')))
      assert.equal(json.url, undefined)
    })
    it('remove a header', async () => {
      // the mock upstream is asked to send the header, so that its removal is seen
      const res = await get('/response-headers?Access-Control-Allow-Origin=*', 'response.test')
      JSON.parse(resStatus(200, res))
      assert.equal(res.headers.get('access-control-allow-origin'), null)
    })
    it('replace a body parameter on GET', async () => {
      const json = JSON.parse(resStatus(200, await get('/get', 'response2.test')))
      assert.equal(json.headers, '/hello/world')
      assert.equal(json.url, '"wot"')
      assert.equal(json.uri_args, 'this is a / test')
    })
  })

  describe('regressions', () => {
    it('does not throw an error when request was short-circuited in access phase', async () => {
      // basic-auth and response-transformer applied to route makes request without
      // credentials short-circuit before the response-transformer access handler runs
      resStatus(401, await get('/get', 'response3.test'))
    })
  })
})
