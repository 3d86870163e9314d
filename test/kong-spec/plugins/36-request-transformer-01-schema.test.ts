/**
 * Kong's spec/03-plugins/36-request-transformer/01-schema_spec.lua (3.9), ported: the
 * same describe/it titles and assertions. Kong validates the config with
 * `validate_plugin_config_schema`; here it goes through a real node's
 * `POST /schemas/plugins/validate`, so the messages are the ones an Admin API user reads.
 */
import assert from 'node:assert/strict'
import {after, before, describe, test as it} from 'node:test'
import {startPluginSpecNode, type PluginSpecNode} from './kong-proxy.js'

let node: PluginSpecNode
before(async () => {
  node = await startPluginSpecNode()
})
after(() => node?.close())

/** Kong's `v(config, schema_def)`: ok, or the field errors. */
async function v(config: Record<string, unknown>): Promise<{ok: boolean; err?: any}> {
  const res = await node.admin.post('/schemas/plugins/validate', {body: {name: 'request-transformer', config}})
  if (res.status === 200) return {ok: true}
  assert.equal(res.status, 400, res.text)
  return {ok: false, err: res.json.fields}
}

describe('Plugin: request-transformer(schema)', () => {
  it('validates http_method', async () => {
    const {ok, err} = await v({http_method: 'GET'})
    assert.ok(ok)
    assert.equal(err, undefined)
  })
  it('errors invalid http_method', async () => {
    const {ok, err} = await v({http_method: 'HELLO!'})
    assert.ok(!ok)
    assert.equal(err.config.http_method, 'invalid value: HELLO!')
  })
  it('validate regex pattern as value', async () => {
    const {ok, err} = await v({add: {querystring: ['uri_param1:$(uri_captures.user1)', 'uri_param2:$(uri_captures.user2)']}})
    assert.ok(ok)
    assert.equal(err, undefined)
  })
  it('validate string as value', async () => {
    const {ok, err} = await v({add: {querystring: ['uri_param1:$(uri_captures.user1)', 'uri_param2:value']}})
    assert.ok(ok)
    assert.equal(err, undefined)
  })
  it('error for missing value', async () => {
    const {ok, err} = await v({add: {querystring: ['uri_param2:']}})
    assert.ok(!ok)
    assert.notEqual(err, undefined)
    // Kong's words (check_for_value)
    assert.equal(err.config.add.querystring[0], "key 'uri_param2' has no value")
  })
  it('error for malformed regex pattern in value', async () => {
    const {ok, err} = await v({add: {querystring: ['uri_param2:$(uri_captures user2)']}})
    assert.ok(!ok)
    assert.notEqual(err, undefined)
    assert.match(err.config.add.querystring[0], /^value '\$\(uri_captures user2\)' is not in supported format, error:/)
  })
})
