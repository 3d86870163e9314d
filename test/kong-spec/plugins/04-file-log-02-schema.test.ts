/**
 * Kong's spec/03-plugins/04-file-log/02-schema_spec.lua (3.9), ported: the same describe/it
 * titles and assertions. Kong validates `{protocols, config}` with the plugin's schema;
 * here it goes through a real node's `POST /schemas/plugins/validate`, so the messages are
 * the ones an Admin API user reads. kctl runs no Lua: `custom_fields_by_lua` is refused
 * unless empty, so Kong's case accepting Lua code is skipped (and its refusal checked).
 */
import assert from 'node:assert/strict'
import {after, before, describe, test as it} from 'node:test'
import {startPluginSpecNode, type PluginSpecNode} from './kong-proxy.js'

let node: PluginSpecNode
before(async () => {
  node = await startPluginSpecNode()
})
after(() => node?.close())

/** Kong's `file_log_schema:validate({protocols = {"http"}, config = input})`: ok, or the field errors. */
async function validate(config: Record<string, unknown>): Promise<{ok: boolean; err?: unknown}> {
  const res = await node.admin.post('/schemas/plugins/validate', {body: {name: 'file-log', protocols: ['http'], config}})
  if (res.status === 200) return {ok: true}
  assert.equal(res.status, 400, res.text)
  return {ok: false, err: (res.json as {fields: unknown}).fields}
}

describe('Plugin: file-log (schema)', () => {
  it('path is required', async () => {
    const {ok, err} = await validate({reopen: true})
    assert.equal(ok, false)
    assert.deepEqual(err, {config: {path: 'required field missing'}})
  })

  it('rejects invalid filename', async () => {
    const {ok, err} = await validate({path: '/ovo*', reopen: true})
    assert.equal(ok, false)
    assert.deepEqual(err, {config: {path: 'not a valid filename'}})
  })

  it('accepts valid filename', async () => {
    const {ok, err} = await validate({path: '/tmp/log.txt', reopen: true})
    assert.equal(ok, true)
    assert.equal(err, undefined)
  })

  it('accepts custom fields set by lua code', {skip: 'kctl runs no Lua: a non-empty custom_fields_by_lua is refused'}, () => {})

  // kctl's side of the skipped case: Lua code is refused, saying why; an empty map is fine
  it('refuses custom fields set by lua code, as it runs no Lua', async () => {
    const {ok, err} = await validate({path: '/tmp/log.txt', custom_fields_by_lua: {foo: "return 'bar'"}})
    assert.equal(ok, false)
    assert.deepEqual(err, {config: {custom_fields_by_lua: 'Lua code is not supported: kctl runs no Lua, leave custom_fields_by_lua empty'}})
    assert.equal((await validate({path: '/tmp/log.txt', custom_fields_by_lua: {}})).ok, true)
  })
})
