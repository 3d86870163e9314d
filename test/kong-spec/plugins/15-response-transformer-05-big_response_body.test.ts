/**
 * Kong's spec/03-plugins/15-response-transformer/05-big_response_body_spec.lua (3.9),
 * ported with the same describe/it titles and assertions, against a real node (Admin API
 * over Postgres, its proxy, Kong's mock upstream), strategy `postgres`. Kong's `/post`
 * echoes the request inside its JSON answer; here the upstream answers the 1 MiB request
 * body itself (`/respond`), so that the removed `params` key is in what is transformed.
 */
import assert from 'node:assert/strict'
import {after, before, describe, test as it} from 'node:test'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from './kong-proxy.js'

const strategy = 'postgres'

const createBigData = (size: number) => ({mock_json: {big_field: '*'.repeat(size)}, params: {kept: false}})

describe(`Plugin: response-transformer [#${strategy}]`, () => {
  let node: PluginSpecNode
  before(async () => {
    node = await startPluginSpecNode()
    const route = await node.bp.routes.insert({hosts: ['response.test'], methods: ['POST']})
    await node.bp.plugins.insert({route: {id: route.id}, name: 'response-transformer', config: {add: {json: ['p1:v1']}, remove: {json: ['params']}}})
  })
  after(() => node?.close())

  it('add new parameters on large POST', async () => {
    const res = await node.proxy.post('/respond', {body: createBigData(1024 * 1024), headers: {host: 'response.test', 'content-type': 'application/json'}})
    const json = JSON.parse(resStatus(200, res))
    assert.equal(json.p1, 'v1')
    assert.equal(json.mock_json.big_field.length, 1024 * 1024)
  })

  it('remove parameters on large POST', async () => {
    const res = await node.proxy.post('/respond', {body: createBigData(1024 * 1024), headers: {host: 'response.test', 'content-type': 'application/json'}})
    const json = JSON.parse(resStatus(200, res))
    assert.equal(json.params, undefined)
  })
})
