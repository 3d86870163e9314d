/**
 * Request bodies of the sync: a big change set goes gzipped and applies in one request;
 * a body over the limit gets a clear 413 (never a reset connection) and changes nothing;
 * batched writes keep Kong's unique-violation errors and all-or-nothing.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {request} from 'node:http'
import {gzipSync} from 'node:zlib'
import {fetchState, postSync} from '../../src/declarative/admin-client.js'
import type {Event} from '../../src/runtime/declarative/state.js'
import {newId} from '../../src/runtime/schema/validate.js'
import {adminBed} from '../helpers/gateway.js'

const bed = adminBed()

const service = (i: number): Event => ({op: 'create', kind: 'services', entity: {id: newId(), name: `svc-${i}`, host: `h${i}.internal`}})

/** A raw POST, so the test sees exactly what the socket does. */
function post(path: string, body: Buffer, headers: Record<string, string>): Promise<{status: number; body: any}> {
  return new Promise((resolve, reject) => {
    const req = request(`${bed.api.url}${path}`, {method: 'POST', headers: {'content-type': 'application/json', ...headers}}, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => resolve({status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || 'null')}))
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('sync request bodies', () => {
  it('applies a change set bigger than the gzip threshold in one request', async () => {
    const events = Array.from({length: 3000}, (_, i) => service(i))
    assert.deepEqual(await postSync(bed.api.url, events), {created: 3000, updated: 0, deleted: 0})
    assert.equal((await fetchState(bed.api.url)).services.length, 3000)
    await postSync(bed.api.url, (await fetchState(bed.api.url)).services.map((s) => ({op: 'delete', kind: 'services', entity: s, old: s})))
  })

  it('answers 413 with a message to a body over the limit, without resetting the connection', async () => {
    const big = Buffer.from(JSON.stringify({name: 'x', host: 'h', tags: ['t'.repeat(17 * 1024 * 1024)]}))
    const res = await post('/services', big, {})
    assert.equal(res.status, 413)
    assert.match(res.body.message, /Request body too large \(limit 16 MiB\)/)
    assert.equal((await bed.api.call('GET', '/services')).body.data.length, 0)
  })

  it('refuses an unknown content encoding and a corrupt gzip body', async () => {
    assert.equal((await post('/kctl/sync', Buffer.from('{}'), {'content-encoding': 'br'})).status, 415)
    assert.equal((await post('/kctl/sync', Buffer.from('not gzip'), {'content-encoding': 'gzip'})).status, 400)
    const ok = await post('/kctl/sync', gzipSync(JSON.stringify({events: [service(1)]})), {'content-encoding': 'gzip'})
    assert.deepEqual(ok.body, {created: 1, updated: 0, deleted: 0})
  })

  it('a duplicate name inside one batch is Kong’s unique violation and nothing is written', async () => {
    const before = (await fetchState(bed.api.url)).services.length
    const events = [service(100), service(101), {...service(102), entity: {...service(102).entity, name: 'svc-100'}}]
    await assert.rejects(postSync(bed.api.url, events), (err: any) => err.status === 409 && err.body.code === 5 && err.body.fields.name === 'svc-100')
    assert.equal((await fetchState(bed.api.url)).services.length, before)
  })
})
