/**
 * Kong's spec/03-plugins/15-response-transformer/03-api_spec.lua (3.9), ported with the
 * same describe/it titles and assertions, against a real node's Admin API over Postgres,
 * strategy `postgres`.
 */
import assert from 'node:assert/strict'
import {after, before, describe, test as it} from 'node:test'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from './kong-proxy.js'

const strategy = 'postgres'

describe(`Plugin: response-transformer (API) [#${strategy}]`, () => {
  let node: PluginSpecNode
  after(() => node?.close())

  describe('POST', () => {
    before(async () => {
      node = await startPluginSpecNode()
    })
    const post = (config: Record<string, unknown>) => node.admin.post('/plugins', {body: {name: 'response-transformer', config}, headers: {'Content-Type': 'application/json'}})

    describe('validate config parameters', () => {
      it('remove succeeds without colons', async () => {
        const res = await post({remove: {headers: ['just_a_key'], json: ['just_a_key']}})
        const body = JSON.parse(resStatus(201, res))
        assert.equal(body.config.remove.headers[0], 'just_a_key')
        assert.equal(body.config.remove.json[0], 'just_a_key')
        await node.admin.delete(`/plugins/${body.id}`)
      })
      it('rename succeeds with colons', async () => {
        const renameHeader = 'x-request-id:x-custom-request-id'
        const renameJson = 'old_key:new_key'
        const res = await post({rename: {headers: [renameHeader], json: [renameJson]}})
        const body = JSON.parse(resStatus(201, res))
        assert.equal(body.config.rename.headers[0], renameHeader)
        assert.equal(body.config.rename.json[0], renameJson)
        await node.admin.delete(`/plugins/${body.id}`)
      })
      it('rename fails with missing colons for header old_name/new_name separation', async () => {
        const noColonsHeader = 'x-request-idx-custom-request-id'
        const json = JSON.parse(resStatus(400, await post({rename: {headers: [noColonsHeader]}})))
        assert.equal(json.name, 'schema violation')
        assert.deepEqual(json.fields.config.rename.headers, [`invalid value: ${noColonsHeader}`])
      })
      it('rename fails with invalid header name for old_name or new_name separation', async () => {
        const invalidHeader = 'x-requ,est-id'
        const renameHeader = `${invalidHeader}:x-custom-request-id`
        const json = JSON.parse(resStatus(400, await post({rename: {headers: [renameHeader]}})))
        assert.equal(json.name, 'schema violation')
        assert.deepEqual(json.fields.config.rename.headers, [`'${invalidHeader}' is not a valid header`])
      })
      it('add fails with missing colons for key/value separation', async () => {
        const json = JSON.parse(resStatus(400, await post({add: {headers: ['just_a_key']}})))
        assert.equal(json.name, 'schema violation')
        assert.deepEqual(json.fields.config.add.headers, ['invalid value: just_a_key'])
      })
      it('replace fails with missing colons for key/value separation', async () => {
        const json = JSON.parse(resStatus(400, await post({replace: {headers: ['just_a_key']}})))
        assert.equal(json.name, 'schema violation')
        assert.deepEqual(json.fields.config.replace.headers, ['invalid value: just_a_key'])
      })
      it('append fails with missing colons for key/value separation', async () => {
        const json = JSON.parse(resStatus(400, await post({append: {headers: ['just_a_key']}})))
        assert.equal(json.name, 'schema violation')
        assert.deepEqual(json.fields.config.append.headers, ['invalid value: just_a_key'])
      })
      it('it does not allow null value for arrays', async () => {
        const res = await post({
          remove: {headers: null, json: null},
          rename: {headers: null, json: null},
          replace: {headers: null, json: null, json_types: null},
          add: {headers: null, json: null, json_types: null},
          append: {headers: null, json: null, json_types: null},
        })
        const body = JSON.parse(resStatus(400, res))
        assert.deepEqual(body.fields.config, {
          remove: {headers: 'required field missing', json: 'required field missing'},
          rename: {headers: 'required field missing', json: 'required field missing'},
          replace: {headers: 'required field missing', json: 'required field missing', json_types: 'required field missing'},
          add: {headers: 'required field missing', json: 'required field missing', json_types: 'required field missing'},
          append: {headers: 'required field missing', json: 'required field missing', json_types: 'required field missing'},
        })
      })
    })
  })
})
