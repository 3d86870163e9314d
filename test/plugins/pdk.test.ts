import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {PluginStates, type PluginStateSlot} from '../../src/runtime/pdk/index.js'
import {recordedMetrics} from '../../src/runtime/plugins/prometheus/handler.js'
import {route, service} from '../router/fixtures.js'
import {until} from '../helpers/until.js'
import {get, startProxy, startUpstream} from '../proxy/helpers.js'
import {plugin} from './fixtures.js'

describe('plugins: the PDK state slot', () => {
  test('a slot is made once per proxy on first use, read without making it, and closed with the proxy', async () => {
    const made: string[] = []
    const closed: string[] = []
    const slot: PluginStateSlot<{db: unknown; n: number}> = {
      create: (env) => (made.push('made'), {db: env.database, n: 0}),
      close: (s) => void closed.push(`closed at ${s.n}`),
    }
    const unused: PluginStateSlot<number> = {create: () => 1, close: () => void closed.push('unused')}
    const database = {} as never
    const a = new PluginStates({database})
    const b = new PluginStates()
    assert.equal(a.peek(slot), undefined)
    a.of(slot).n++
    a.of(slot).n++
    b.of(slot).n++
    assert.deepEqual(made, ['made', 'made'])
    assert.equal(a.peek(slot)?.n, 2)
    assert.equal(a.peek(slot)?.db, database)
    assert.equal(b.peek(slot)?.n, 1)
    assert.equal(b.peek(slot)?.db, undefined)
    await a.close()
    assert.deepEqual(closed, ['closed at 2'], 'only slots that were made are closed')
    assert.equal(b.peek(unused), undefined)
  })

  test("each proxy keeps its own plugin state: rate-limiting's local counters and prometheus's metrics, made on first use", async (t) => {
    const up = await startUpstream(t, 'a')
    const s = service({url: `http://127.0.0.1:${up.port}`})
    const config = {
      services: [s],
      routes: [route({paths: ['/'], service: {id: s.id}})],
      plugins: [plugin('rate-limiting', {minute: 2, policy: 'local'}), plugin('prometheus', {status_code_metrics: true})],
    }
    const one = await startProxy(t, config)
    const two = await startProxy(t, config)
    assert.equal(recordedMetrics(one.proxy.pluginStates), undefined, 'nothing made before a request')
    assert.deepEqual(
      [(await get(one.port, '/')).status, (await get(one.port, '/')).status, (await get(one.port, '/')).status],
      [200, 200, 429],
    )
    // the other proxy has its own budget
    assert.equal((await get(two.port, '/')).status, 200)
    // the log phase runs once the response is sent: wait for each proxy's counts
    const counted = (states: PluginStates, total: number) =>
      until(`${total} requests counted`, async () => {
        const family = recordedMetrics(states)?.dump().counters.find(([name]) => name === 'kong_http_requests_total')?.[1]
        return family && family.reduce((n, [, v]) => n + v, 0) === total && family
      })
    // the 429 too: prometheus runs after rate-limiting, and (as in Kong) the plugins after
    // the one that answered still see the answer in their log phase
    const first = await counted(one.proxy.pluginStates, 3)
    assert.deepEqual(first.map(([labels, n]) => [labels.match(/code="(\d+)"/)?.[1], n]), [['200', 2], ['429', 1]])
    assert.deepEqual((await counted(two.proxy.pluginStates, 1)).map(([labels, n]) => [labels.match(/code="(\d+)"/)?.[1], n]), [['200', 1]])
  })
})
