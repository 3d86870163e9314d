/**
 * Kong's spec/03-plugins/17-ip-restriction/01-schema_spec.lua (3.9), ported: the same
 * describe/it titles and assertions. Kong validates the config table with the plugin's
 * schema (`validate_plugin_config_schema`); here the same config goes through a real
 * node's `POST /schemas/plugins/validate`, whose error `fields` are Kong's `err` (an
 * array's errors as a JSON array, `null` where an element is valid: Kong's `{[3] = …}`).
 */
import assert from 'node:assert/strict'
import {after, before, describe, test as it} from 'node:test'
import {startPluginSpecNode, type PluginSpecNode} from './kong-proxy.js'

describe('Plugin: ip-restriction (schema)', () => {
  let node: PluginSpecNode
  before(async () => {
    node = await startPluginSpecNode()
  })
  after(() => node?.close())

  /** Kong's `v(config, schema_def)`: [ok, err] with err the `fields` of the error. */
  const v = async (config: Record<string, unknown>): Promise<[boolean, any]> => {
    const res = await node.admin.post('/schemas/plugins/validate', {body: {name: 'ip-restriction', config}})
    if (res.status === 200) return [true, null]
    assert.equal(res.status, 400, res.text)
    return [false, res.json.fields]
  }
  const accepts = async (config: Record<string, unknown>) => {
    const [ok, err] = await v(config)
    assert.ok(ok, JSON.stringify(err))
  }

  it('should accept a valid allow', () => accepts({allow: ['127.0.0.1/32', '127.0.0.2/32']}))
  it('should accept a valid allow and status/message', () => accepts({allow: ['127.0.0.1/32', '127.0.0.2/32'], status: 403, message: 'Forbidden'}))
  it('should accept a valid cidr range', () => accepts({allow: ['127.0.0.1/8']}))
  it('should accept a valid deny', () => accepts({deny: ['127.0.0.1/32', '127.0.0.2/32']}))
  it('should accept both non-empty allow and deny', () => accepts({deny: ['127.0.0.2/32'], allow: ['127.0.0.1/32']}))

  describe('errors', () => {
    it('allow should not accept invalid types', async () => {
      const [ok, err] = await v({allow: 12})
      assert.ok(!ok)
      assert.deepEqual(err.config, {allow: 'expected an array'})
    })
    it('allow should not accept invalid IPs', async () => {
      let [ok, err] = await v({allow: ['hello']})
      assert.ok(!ok)
      assert.deepEqual(err.config, {allow: ["invalid ip or cidr range: 'hello'"]})
      ;[ok, err] = await v({allow: ['127.0.0.1/32', '127.0.0.2/32', 'hello']})
      assert.ok(!ok)
      assert.deepEqual(err.config, {allow: [null, null, "invalid ip or cidr range: 'hello'"]})
    })
    it('deny should not accept invalid types', async () => {
      const [ok, err] = await v({deny: 12})
      assert.ok(!ok)
      assert.deepEqual(err.config, {deny: 'expected an array'})
    })
    it('deny should not accept invalid IPs', async () => {
      let [ok, err] = await v({deny: ['hello']})
      assert.ok(!ok)
      assert.deepEqual(err.config, {deny: ["invalid ip or cidr range: 'hello'"]})
      ;[ok, err] = await v({deny: ['127.0.0.1/32', '127.0.0.2/32', 'hello']})
      assert.ok(!ok)
      assert.deepEqual(err.config, {deny: [null, null, "invalid ip or cidr range: 'hello'"]})
    })
    it('should not accept both empty allow and deny', async () => {
      const [ok, err] = await v({deny: [], allow: []})
      assert.ok(!ok)
      assert.deepEqual(err['@entity'], ["at least one of these fields must be non-empty: 'config.allow', 'config.deny'"])
    })
    it('should not accept invalid cidr ranges', async () => {
      const [ok, err] = await v({allow: ['0.0.0.0/a', '0.0.0.0/-1', '0.0.0.0/33']})
      assert.ok(!ok)
      assert.deepEqual(err.config, {
        allow: ["invalid ip or cidr range: '0.0.0.0/a'", "invalid ip or cidr range: '0.0.0.0/-1'", "invalid ip or cidr range: '0.0.0.0/33'"],
      })
    })
    it('should not accept invalid ipv6 cidr ranges', async () => {
      const [ok, err] = await v({allow: ['::/a', '::/-1', '::/129', '::1/a', '::1/-1', '::1/129']})
      assert.ok(!ok)
      assert.deepEqual(err.config, {
        allow: [
          "invalid ip or cidr range: '::/a'",
          "invalid ip or cidr range: '::/-1'",
          "invalid ip or cidr range: '::/129'",
          "invalid ip or cidr range: '::1/a'",
          "invalid ip or cidr range: '::1/-1'",
          "invalid ip or cidr range: '::1/129'",
        ],
      })
    })
    it('should accept valid ipv6 cidr ranges', async () => {
      const [ok] = await v({allow: ['::/0', '::/1', '::/128']})
      assert.ok(ok)
    })
  })
})
