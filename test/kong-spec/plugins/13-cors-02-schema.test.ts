/**
 * Kong's spec/03-plugins/13-cors/02-schema_spec.lua (3.9), ported: the same describe/it
 * titles and assertions. Kong validates the config with `validate_plugin_config_schema`;
 * here it goes through a real node's `POST /schemas/plugins/validate`, so the messages
 * are the ones an Admin API user reads.
 */
import assert from 'node:assert/strict'
import {after, before, describe, test as it} from 'node:test'
import {startPluginSpecNode, type PluginSpecNode} from './kong-proxy.js'

let node: PluginSpecNode
before(async () => {
  node = await startPluginSpecNode()
})
after(() => node?.close())

/** Kong's `v(config, schema_def)`: ok, or the `config` part of the field errors. */
async function v(config: Record<string, unknown>): Promise<{ok: boolean; err?: any}> {
  const res = await node.admin.post('/schemas/plugins/validate', {body: {name: 'cors', config}})
  if (res.status === 200) return {ok: true}
  assert.equal(res.status, 400, res.text)
  return {ok: false, err: res.json.fields}
}

describe('origins in cors schema', () => {
  it("validates '*'", async () => {
    const {ok, err} = await v({origins: ['*']})
    assert.ok(ok)
    assert.equal(err, undefined)
  })
  it('validates what looks like a domain', async () => {
    const {ok, err} = await v({origins: ['example.com']})
    assert.ok(ok)
    assert.equal(err, undefined)
  })
  it('validates what looks like a regex', async () => {
    const {ok, err} = await v({origins: [String.raw`.*\.example(?:-foo)?\.com`]})
    assert.ok(ok)
    assert.equal(err, undefined)
  })
  describe('errors', () => {
    it('with invalid regex in origins', async () => {
      const mockOrigins = ['.*.example.com', 'invalid_**regex']
      const {ok, err} = await v({origins: mockOrigins})
      assert.ok(!ok)
      assert.equal(err.config.origins[1], "'invalid_**regex' is not a valid regex")
    })
  })
})

describe('methods in cors schema', () => {
  for (const method of ['HEAD', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']) {
    it(`should allow ${method}`, async () => {
      const {ok, err} = await v({methods: [method]})
      assert.ok(ok)
      assert.equal(err, undefined)
    })
  }
  describe('errors', () => {
    it('with invalid method', async () => {
      const {ok, err} = await v({methods: ['FAKE']})
      assert.ok(!ok)
      assert.equal(err.config.methods[0], 'expected one of: GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS, TRACE, CONNECT')
    })
  })
})
