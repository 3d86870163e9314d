/**
 * Kong's spec/03-plugins/18-acl/03-invalidations_spec.lua (3.9), ported: the same
 * describe/it titles and proxy assertions, against a real node started afresh for each
 * test, as Kong's `before_each` does. Kong runs it for each strategy; this is `postgres`.
 * Kong also reads `/cache/{acls cache key}` before each change and waits for its
 * invalidation: kctl's Admin API has no entity cache to inspect, and answers a write once
 * its proxy has rebuilt, so those steps are left out and the proxy's answers checked.
 */
import {afterEach, beforeEach, describe, test as it} from 'node:test'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from './kong-proxy.js'

const strategy = 'postgres'

describe(`Plugin: ACL (invalidations) [#${strategy}]`, () => {
  let node: PluginSpecNode
  let acl: any
  beforeEach(async () => {
    node = await startPluginSpecNode()
    const bp = node.bp
    const consumer = await bp.consumers.insert({username: 'consumer1'})
    await bp.credentials.insert('key-auth', consumer, {key: 'apikey123'})
    acl = await bp.credentials.insert('acls', consumer, {group: 'admin'})
    await bp.credentials.insert('acls', consumer, {group: 'pro'})
    const consumer2 = await bp.consumers.insert({username: 'consumer2'})
    await bp.credentials.insert('key-auth', consumer2, {key: 'apikey124'})
    await bp.credentials.insert('acls', consumer2, {group: 'admin'})
    const route1 = await bp.routes.insert({hosts: ['acl1.test']})
    await bp.plugins.insert({name: 'key-auth', route: {id: route1.id}})
    await bp.plugins.insert({name: 'acl', route: {id: route1.id}, config: {allow: ['admin']}})
    const route2 = await bp.routes.insert({hosts: ['acl2.test']})
    await bp.plugins.insert({name: 'key-auth', route: {id: route2.id}})
    await bp.plugins.insert({name: 'acl', route: {id: route2.id}, config: {allow: ['ya']}})
  })
  afterEach(() => node?.close())
  const get = (path: string, host: string) => node.proxy.get(path, {headers: {Host: host}})

  describe('ACL entity invalidation', () => {
    it('should invalidate when ACL entity is deleted', async () => {
      // It should work
      resStatus(200, await get('/status/200?apikey=apikey123', 'acl1.test'))
      // Delete ACL group (which triggers invalidation)
      resStatus(204, await node.admin.delete(`/consumers/consumer1/acls/${acl.id}`))
      // It should not work
      resStatus(403, await get('/status/200?apikey=apikey123', 'acl1.test'))
    })
    it('should invalidate when ACL entity is updated', async () => {
      // It should work
      resStatus(200, await get('/status/200?apikey=apikey123&prova=scemo', 'acl1.test'))
      // It should not work
      resStatus(403, await get('/status/200?apikey=apikey123', 'acl2.test'))
      // Update ACL group (which triggers invalidation)
      resStatus(200, await node.admin.patch(`/consumers/consumer1/acls/${acl.id}`, {body: {group: 'ya'}, headers: {'Content-Type': 'application/json'}}))
      // It should not work
      resStatus(403, await get('/status/200?apikey=apikey123', 'acl1.test'))
      // It works now
      resStatus(200, await get('/status/200?apikey=apikey123', 'acl2.test'))
    })
  })

  describe('Consumer entity invalidation', () => {
    it('should invalidate when Consumer entity is deleted', async () => {
      // It should work
      resStatus(200, await get('/status/200?apikey=apikey123', 'acl1.test'))
      // Delete Consumer (which triggers invalidation)
      resStatus(204, await node.admin.delete('/consumers/consumer1'))
      // It should not work
      resStatus(401, await get('/status/200?apikey=apikey123', 'acl1.test'))
    })
  })
})
