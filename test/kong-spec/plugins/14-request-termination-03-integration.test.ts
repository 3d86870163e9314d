/**
 * Kong's spec/03-plugins/14-request-termination/03-integration_spec.lua (3.9), ported: the
 * same describe/it titles and assertions, against a real node (Admin API over Postgres,
 * its proxy, Kong's mock upstream), strategy `postgres`.
 */
import assert from 'node:assert/strict'
import {after, before, describe, test as it} from 'node:test'
import {until} from '../../helpers/until.js'
import {startPluginSpecNode, type PluginSpecNode} from './kong-proxy.js'

const strategy = 'postgres'

describe(`Plugin: request-termination (integration) [#${strategy}]`, () => {
  let node: PluginSpecNode
  let consumer: any
  before(async () => {
    node = await startPluginSpecNode()
    const bp = node.bp
    await bp.routes.insert({hosts: ['api1.request-termination.test']})
    await bp.plugins.insert({name: 'key-auth'})
    consumer = await bp.consumers.insert({username: 'bob'})
    await bp.credentials.insert('key-auth', consumer, {key: 'kong'})
  })
  after(() => node?.close())

  it('can be applied on a consumer', async () => {
    // add the plugin to a consumer
    let res = await node.admin.post('/plugins', {body: {name: 'request-termination', consumer: {id: consumer.id}}})
    assert.equal(res.status, 201, res.text)
    // verify access being blocked
    res = await until('the consumer is blocked', () => node.proxy.get('/request', {headers: {Host: 'api1.request-termination.test', apikey: 'kong'}}), {ok: (r) => r.status === 503})
    assert.deepEqual(res.json, {message: 'Service unavailable'})
  })
})
