/**
 * Kong's spec/03-plugins/36-request-transformer/03-api_spec.lua (3.9), ported with the
 * same describe/it titles and assertions, against a real node's Admin API over Postgres,
 * strategy `postgres`.
 */
import assert from 'node:assert/strict'
import {after, before, describe, test as it} from 'node:test'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from './kong-proxy.js'

const strategy = 'postgres'

describe(`Plugin: request-transformer (API) [#${strategy}]`, () => {
  let node: PluginSpecNode
  after(() => node?.close())

  describe('POST', () => {
    before(async () => {
      node = await startPluginSpecNode()
    })
    const post = (config: Record<string, unknown>) => node.admin.post('/plugins', {body: {name: 'request-transformer', config}, headers: {'Content-Type': 'application/json'}})

    describe('validate config parameters', () => {
      it('remove succeeds without colons', async () => {
        const body = JSON.parse(resStatus(201, await post({remove: {headers: ['just_a_key'], body: ['just_a_key'], querystring: ['just_a_key']}})))
        assert.equal(body.config.remove.headers[0], 'just_a_key')
        assert.equal(body.config.remove.body[0], 'just_a_key')
        assert.equal(body.config.remove.querystring[0], 'just_a_key')
      })
      for (const op of ['add', 'replace', 'append'] as const) {
        it(`${op} fails with missing colons for key/value separation`, async () => {
          const json = JSON.parse(resStatus(400, await post({[op]: {headers: ['just_a_key']}})))
          assert.deepEqual(json.fields, {config: {[op]: {headers: ['invalid value: just_a_key']}}})
        })
      }
      it('it does not allow null value for arrays', async () => {
        const nulls = {body: null, headers: null, querystring: null}
        const res = await post({remove: nulls, rename: nulls, replace: nulls, add: nulls, append: nulls})
        const body = JSON.parse(resStatus(400, res))
        const missing = {body: 'required field missing', headers: 'required field missing', querystring: 'required field missing'}
        assert.deepEqual(body.fields.config, {remove: missing, rename: missing, replace: missing, add: missing, append: missing})
      })
    })
  })
})
