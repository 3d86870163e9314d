/**
 * Kong's spec/03-plugins/14-request-termination/01-schema_spec.lua (3.9), ported: the same
 * describe/it titles and assertions. Kong validates the config table with the plugin's
 * schema (`validate_plugin_config_schema`); here the same config goes through a real
 * node's `POST /schemas/plugins/validate`, whose error `fields` are Kong's `err`: a
 * field's error under `config.<field>`, the config's custom validator as `config` itself.
 */
import assert from 'node:assert/strict'
import {after, before, describe, test as it} from 'node:test'
import {startPluginSpecNode, type PluginSpecNode} from './kong-proxy.js'

describe('Plugin: request-termination (schema)', () => {
  let node: PluginSpecNode
  before(async () => {
    node = await startPluginSpecNode()
  })
  after(() => node?.close())

  /** Kong's `v(config, schema_def)`: [ok, err] with err the `fields` of the error. */
  const v = async (config: Record<string, unknown>): Promise<[boolean, any]> => {
    const res = await node.admin.post('/schemas/plugins/validate', {body: {name: 'request-termination', config}})
    if (res.status === 200) return [true, null]
    assert.equal(res.status, 400, res.text)
    return [false, res.json.fields]
  }
  
  it('should accept a valid status_code', async () => {
    assert.ok((await v({status_code: 404}))[0])
  })
  it('should accept a valid message', async () => {
    assert.ok((await v({message: 'Not found'}))[0])
  })
  it('should accept a valid content_type', async () => {
    assert.ok((await v({content_type: 'text/html', body: '<body><h1>Not found</h1>'}))[0])
  })
  it('should accept a valid body', async () => {
    assert.ok((await v({body: '<body><h1>Not found</h1>'}))[0])
  })
  it('should accept trigger', async () => {
    assert.ok((await v({echo: true, trigger: 'header_name'}))[0])
  })

  describe('errors', () => {
    it('status_code should only accept numbers', async () => {
      const [ok, err] = await v({status_code: 'abcd'})
      assert.ok(!ok)
      assert.deepEqual(err.config.status_code, 'expected an integer')
    })
    it('status_code can not be set as null', async () => {
      const [ok, err] = await v({status_code: null})
      assert.ok(!ok)
      assert.deepEqual(err.config.status_code, 'required field missing')
    })
    it('status_code < 100', async () => {
      const [ok, err] = await v({status_code: 99})
      assert.ok(!ok)
      assert.deepEqual(err.config.status_code, 'value should be between 100 and 599')
    })
    it('status_code > 599', async () => {
      const [ok, err] = await v({status_code: 600})
      assert.ok(!ok)
      assert.deepEqual(err.config.status_code, 'value should be between 100 and 599')
    })
    it('#message with body', async () => {
      const [ok, err] = await v({message: 'error', body: 'test'})
      assert.ok(!ok)
      assert.deepEqual(err.config, 'message cannot be used with content_type or body')
    })
    it('message with body and content_type', async () => {
      const [ok, err] = await v({message: 'error', content_type: 'text/html', body: 'test'})
      assert.ok(!ok)
      assert.deepEqual(err.config, 'message cannot be used with content_type or body')
    })
    it('message with content_type', async () => {
      const [ok, err] = await v({message: 'error', content_type: 'text/html'})
      assert.ok(!ok)
      assert.deepEqual(err.config, 'message cannot be used with content_type or body')
    })
    it('content_type without body', async () => {
      const [ok, err] = await v({content_type: 'text/html'})
      assert.ok(!ok)
      assert.deepEqual(err.config, 'content_type requires a body')
    })
    it('echo with body & content_type', async () => {
      const [ok, err] = await v({echo: true, content_type: 'text/html', body: '<body><h1>Not found</h1>'})
      assert.ok(!ok)
      assert.deepEqual(err.config, 'echo cannot be used with content_type and body')
    })
  })
})
