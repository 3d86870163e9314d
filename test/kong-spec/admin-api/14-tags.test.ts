/**
 * Kong's spec/02-integration/04-admin_api/14-tags_spec.lua (3.9), ported: the same
 * describe/it titles and assertions, for both of Kong's strategies: postgres (an Admin
 * API over a real Postgres) and off (a real `database = off` node, its entities loaded
 * with `POST /config`). Kong's spec attaches a `file-log` plugin to each consumer (its
 * file is never written: no request is proxied). A byte that is no UTF-8 (Kong's `string.char(255)`) is sent
 * percent-encoded (`%FF`), as an HTTP client must.
 */
import assert from 'node:assert/strict'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test as it} from 'node:test'
import {startSpecNode, type KongClient} from './kong-client.js'
import {startOffNode} from './off-node.js'

type Entities = {consumers: Array<Record<string, unknown>>}

/** A node of `strategy` holding `entities` (consumers with their nested plugins). */
async function nodeWith(strategy: string, entities: Entities): Promise<{client: KongClient; close(): Promise<void>}> {
  if (strategy === 'off') {
    const node = await startOffNode()
    await node.load(entities)
    return {client: node.client, close: node.stop}
  }
  const node = await startSpecNode()
  for (const {plugins, ...consumer} of entities.consumers) {
    const res = await node.client.post('/consumers', {body: consumer})
    assert.equal(res.status, 201, res.text)
    assert.deepEqual(res.json.tags, consumer.tags)
    for (const p of (plugins as Array<Record<string, unknown>> | undefined) ?? []) {
      const r = await node.client.post('/plugins', {body: {...p, consumer: {id: res.json.id}}})
      assert.equal(r.status, 201, r.text)
    }
  }
  return {client: node.client, close: node.close}
}

describe('Admin API - tags', () => {
  for (const strategy of ['postgres', 'off']) {
    describe(`/entities?tags= with DB: #${strategy}`, () => {
      let client: KongClient
      let close: () => Promise<void>
      before(async () => {
        const consumers = [1, 2].map((i) => ({
          username: `adminapi-filter-by-tag-${i}`,
          tags: ['corp_ a', `consumer_ ${i}`, '🦍'],
          plugins: [{name: 'file-log', config: {path: join(tmpdir(), `kctl-tags-${i}.log`)}, tags: ['corp_ a', `consumer_ ${i}`]}],
        }))
        ;({client, close} = await nodeWith(strategy, {consumers}))
      })
      after(() => close?.())

      it('filter by single tag', async () => {
        const res = await client.get('/consumers?tags=corp_%20a')
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.data.length, 2)
        for (const c of res.json.data) assert.ok(c.tags.includes('corp_ a'))
      })

      it('filter by single unicode tag', async () => {
        const res = await client.get('/consumers?tags=🦍')
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.data.length, 2)
        for (const c of res.json.data) assert.ok(c.tags.includes('🦍'))
      })

      it('filter by empty tag', async () => {
        const res = await client.get('/consumers?tags=')
        assert.equal(res.status, 400)
        assert.equal(res.json.message, 'invalid option (tags: cannot be null)')
      })

      it('filter by empty string tag', async () => {
        const res = await client.get("/consumers?tags=''")
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.data.length, 0)
      })

      it('filter by multiple tags with AND', async () => {
        const res = await client.get('/consumers?tags=corp_%20a,consumer_%201')
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.data.length, 1)
        assert.equal(res.json.data[0].tags.length, 3)
        assert.ok(res.json.data[0].tags.includes('corp_ a'))
        assert.ok(res.json.data[0].tags.includes('consumer_ 1'))
        assert.ok(res.json.data[0].tags.includes('🦍'))
      })

      it('filter by multiple tags with OR', async () => {
        const res = await client.get('/consumers?tags=consumer_%202/consumer_%201')
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.data.length, 2)
      })

      it('ignores tags when filtering by multiple filters #6779', async () => {
        const res = await client.get('/consumers/adminapi-filter-by-tag-1/plugins?tags=consumer_%202')
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.data.length, 1)
        assert.ok(res.json.data[0].tags.includes('corp_ a'))
        assert.ok(res.json.data[0].tags.includes('consumer_ 1'))
        assert.ok(!res.json.data[0].tags.includes('consumer_ 2'))
      })

      it('errors if filter by mix of AND and OR', async () => {
        let res = await client.get('/consumers?tags=consumer_%203,consumer_%202/consumer_%201')
        assert.equal(res.status, 400)
        assert.equal(res.json.message, 'invalid option (tags: invalid filter syntax)')
        res = await client.get('/consumers?tags=consumer_%203/consumer_%202,consumer_%201')
        assert.equal(res.status, 400)
        assert.equal(res.json.message, 'invalid option (tags: invalid filter syntax)')
      })

      it('errors if filter by tag with invalid value', async () => {
        const res = await client.get('/consumers?tags=%FF')
        assert.equal(res.status, 400)
        assert.equal(res.json.message, 'invalid option (tags: invalid filter syntax)')
      })

      it("returns the correct 'next' arg", async () => {
        const tagsArg = 'tags=corp_%20a'
        const res = await client.get(`/consumers?${tagsArg}&size=1`)
        assert.equal(res.status, 200, res.text)
        assert.equal(res.json.data.length, 1)
        assert.ok(res.json.next.includes(tagsArg), res.json.next)
      })
    })

    describe(`/tags with DB: #${strategy}`, () => {
      let client: KongClient
      let close: () => Promise<void>
      before(async () => {
        const consumers = [1, 2].map((i) => ({username: `adminapi-filter-by-tag-${i}`, tags: ['corp_ a', `consumer_ ${i}`]}))
        ;({client, close} = await nodeWith(strategy, {consumers}))
      })
      after(() => close?.())

      // lmdb tags will output pagenated list of entities
      const pagenatedGetJsonData = async (start: string) => {
        const data: unknown[] = []
        let path: string | null = start
        while (path) {
          const res = await client.get(path)
          assert.equal(res.status, 200, res.text)
          if (strategy !== 'off') return res.json.data
          data.push(...res.json.data)
          path = res.json.next
        }
        return data
      }

      it('/tags', async () => {
        assert.equal((await pagenatedGetJsonData('/tags')).length, 4)
      })

      it('/tags/:tags', async () => {
        assert.equal((await pagenatedGetJsonData('/tags/corp_%20a')).length, 2)
      })

      it('/tags/:tags with a not exist tag', async () => {
        assert.equal((await pagenatedGetJsonData('/tags/does-not-exist')).length, 0)
      })

      it('/tags/:tags with invalid :tags value', async () => {
        const res = await client.get('/tags/%FF')
        assert.equal(res.status, 400)
        assert.match(res.json.message, /invalid utf-8/)
      })

      it('/tags ignores ?tags= query', async () => {
        assert.equal((await pagenatedGetJsonData('/tags?tags=not_a_tag')).length, 4)
        assert.equal((await pagenatedGetJsonData('/tags?tags=invalid@tag')).length, 4)
      })

      it('/tags/:tags ignores ?tags= query', async () => {
        assert.equal((await pagenatedGetJsonData('/tags/corp_%20a?tags=not_a_tag')).length, 2)
        assert.equal((await pagenatedGetJsonData('/tags/corp_%20a?tags=invalid@tag')).length, 2)
      })
    })
  }
})
