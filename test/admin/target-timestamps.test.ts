/**
 * Targets keep Kong's millisecond timestamps (`auto_timestamp_ms`): with a database, on a
 * DB-less node, and through `GET /config` and back.
 */
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {load as yamlLoad} from 'js-yaml'
import {startSpecNode, type SpecNode} from '../kong-spec/admin-api/kong-client.js'
import {startOffNode, type OffNode} from '../kong-spec/admin-api/off-node.js'

/** A timestamp of `now` with milliseconds: not before `from` (whole seconds would be, 999 times in 1000), at most 3 decimals. */
function assertMs(v: unknown, from: number, what: string): void {
  assert.equal(typeof v, 'number', what)
  assert.ok((v as number) >= from, `${what} ${v} is not before ${from}`)
  assert.ok((v as number) <= Date.now() / 1000, `${what} ${v} is not in the future`)
  assert.equal(Math.round((v as number) * 1000) / 1000, v, `${what} ${v} has at most 3 decimals`)
}

describe('targets: millisecond timestamps', () => {
  describe('database = postgres', () => {
    let node: SpecNode
    before(async () => {
      node = await startSpecNode()
    })
    after(() => node?.close())

    test('created_at and updated_at keep milliseconds; other entities keep whole seconds', async () => {
      const up = (await node.client.post('/upstreams', {body: {name: 'ms.test'}})).json
      const from = Math.floor(Date.now()) / 1000
      const t = await node.client.post(`/upstreams/${up.id}/targets`, {body: {target: '10.0.0.1:80'}})
      assert.equal(t.status, 201, t.text)
      assertMs(t.json.created_at, from, 'created_at')
      assert.equal(t.json.updated_at, t.json.created_at)
      assert.ok(Number.isInteger(up.created_at), 'an upstream keeps whole seconds, as in Kong')
      const read = (await node.client.get(`/upstreams/${up.id}/targets/${t.json.id}`)).json
      assert.equal(read.created_at, t.json.created_at, 'stored as answered')
      const patched = (await node.client.patch(`/upstreams/${up.id}/targets/${t.json.id}`, {body: {weight: 5}})).json
      assert.ok(patched.updated_at > t.json.updated_at, 'a PATCH in the same second still moves updated_at')
      assert.equal(patched.created_at, t.json.created_at)
    })
  })

  describe('database = off', () => {
    let node: OffNode
    before(async () => {
      node = await startOffNode()
    })
    after(() => node?.stop())

    test('a loaded target is stamped with milliseconds, kept through GET /config and back', async () => {
      const from = Math.floor(Date.now()) / 1000
      await node.load({upstreams: [{name: 'ms.test', targets: [{target: '10.0.0.1:80'}]}]})
      const [t] = (await node.client.get('/upstreams/ms.test/targets')).json.data
      assertMs(t.created_at, from, 'created_at')
      const exported = yamlLoad((await node.client.get('/config')).json.config) as any
      assert.equal(exported.targets[0].created_at, t.created_at)
      const hash = (await node.client.get('/status')).json.configuration_hash
      const res = await node.client.post('/config?check_hash=1', {body: exported})
      assert.equal(res.status, 304, `the export posted back is the same configuration: ${res.status} ${res.text}`)
      assert.equal((await node.client.get('/status')).json.configuration_hash, hash)
    })
  })
})
