/**
 * Kong's spec/02-integration/05-proxy/08-uri_encoding_spec.lua (3.9), ported: the same
 * describe/it titles and assertions, against a real node (Admin API over Postgres, its
 * proxy, Kong's mock upstream), strategy `postgres`.
 */
import assert from 'node:assert/strict'
import {after, before, describe, test as it} from 'node:test'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from '../plugins/kong-proxy.js'

const strategy = 'postgres'

describe(`URI encoding [#${strategy}]`, () => {
  let node: PluginSpecNode
  let mockUpstreamUrl: string
  before(async () => {
    node = await startPluginSpecNode()
    mockUpstreamUrl = `http://127.0.0.1:${node.upstream.port}`
    const bp = node.bp
    await bp.routes.insert({hosts: ['mock_upstream']})
    await bp.routes.insert({hosts: ['mock_upstream']})
    await bp.routes.insert({protocols: ['http'], paths: ['/request'], strip_path: false})
    await bp.routes.insert({protocols: ['http'], paths: ['/stripped-path'], strip_path: true})
  })
  after(() => node?.close())

  const json = async (path: string, headers: Record<string, string> = {}) => JSON.parse(resStatus(200, await node.proxy.get(path, {headers})))

  it('issue #1975 does not double percent-encode proxied args', async () => {
    const body = await json('/get?limit=25&where=%7B%22or%22:%5B%7B%22name%22:%7B%22like%22:%22%25bac%25%22%7D%7D%5D%7D', {Host: 'mock_upstream'})
    assert.equal(body.uri_args.limit, '25')
    assert.equal(body.uri_args.where, '{"or":[{"name":{"like":"%bac%"}}]}')
  })

  it('issue #1480 does not percent-encode args unnecessarily', async () => {
    const body = await json('/request?param=1.2.3', {Host: 'mock_upstream'})
    assert.equal(body.url, `${mockUpstreamUrl}/request?param=1.2.3`)
  })

  it('issue #749 does not decode percent-encoded args', async () => {
    const body = await json('/request?param=abc%7Cdef', {Host: 'mock_upstream'})
    assert.equal(body.url, `${mockUpstreamUrl}/request?param=abc%7Cdef`)
  })

  it('issue #688 does not percent-decode proxied URLs', async () => {
    const body = await json('/request/foo%2Fbar', {Host: 'mock_upstream'})
    assert.equal(body.url, `${mockUpstreamUrl}/request/foo%2Fbar`)
  })

  it('issue #2512 does not double percent-encode upstream URLs', async () => {
    // with `hosts` matching
    const body = await json('/request/auth%2F123', {Host: 'mock_upstream'})
    assert.ok(body.url.includes('/request/auth%2F123'), body.url)
    // with `uris` matching
    const body2 = await json('/request/auth%2F123')
    assert.ok(body2.url.includes('/request/auth%2F123'), body2.url)
    // with `uris` matching + `strip_uri`
    const body3 = await json('/stripped-path/request/auth%2F123')
    assert.ok(body3.url.includes('/request/auth%2F123'), body3.url)
  })
})
