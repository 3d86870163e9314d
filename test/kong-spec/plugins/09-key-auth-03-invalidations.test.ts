/**
 * Kong's spec/03-plugins/09-key-auth/03-invalidations_spec.lua (3.9), ported: the same
 * describe/it titles and assertions on the proxy and the Admin API, against a real node
 * (Admin API over Postgres, its proxy rebuilt on every write), a new one for each case as
 * in Kong's `before_each`. Kong also reads its entity cache (`GET /cache/{key}`) and waits
 * for the cache entry to go (`wait_for_invalidation`): kctl's Admin API has no entity
 * cache to inspect (a write is answered once the proxy has rebuilt from the database), so
 * those steps are not ported; the credential's id is read from `/consumers/bob/key-auth`.
 */
import assert from 'node:assert/strict'
import {afterEach, beforeEach, describe, test as it} from 'node:test'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from './kong-proxy.js'

const strategy = 'postgres'

describe(`Plugin: key-auth (invalidations) [#${strategy}]`, () => {
  let node: PluginSpecNode

  beforeEach(async () => {
    node = await startPluginSpecNode()
    const route = await node.bp.routes.insert({hosts: ['key-auth.test']})
    await node.bp.plugins.insert({name: 'key-auth', route: {id: route.id}})
    const consumer = await node.bp.consumers.insert({username: 'bob'})
    await node.bp.credentials.insert('key-auth', {id: consumer.id}, {key: 'kong'})
  })
  afterEach(() => node?.close())

  const proxyWith = (apikey: string) => node.proxy.get('/', {headers: {Host: 'key-auth.test', apikey}})
  /** What Kong reads from `/cache/{cache_key}`: the credential, here from the Admin API. */
  const credentialOf = async (key: string) => JSON.parse(resStatus(200, await node.admin.get(`/consumers/bob/key-auth/${key}`)))

  it('invalidates credentials when the Consumer is deleted', async () => {
    // populate cache
    resStatus(200, await proxyWith('kong'))
    // delete Consumer entity
    resStatus(204, await node.admin.delete('/consumers/bob'))
    resStatus(401, await proxyWith('kong'))
  })

  it('invalidates credentials from cache when deleted', async () => {
    // populate cache
    resStatus(200, await proxyWith('kong'))
    const credential = await credentialOf('kong')
    // delete credential entity
    resStatus(204, await node.admin.delete(`/consumers/bob/key-auth/${credential.id}`))
    resStatus(401, await proxyWith('kong'))
  })

  it('invalidated credentials from cache when updated', async () => {
    // populate cache
    resStatus(200, await proxyWith('kong'))
    const credential = await credentialOf('kong')
    resStatus(200, await node.admin.patch(`/consumers/bob/key-auth/${credential.id}`, {body: {key: 'kong-updated'}, headers: {'Content-Type': 'application/json'}}))
    resStatus(401, await proxyWith('kong'))
    const res = await proxyWith('kong-updated')
    assert.equal(res.status, 200, res.text)
  })
})
