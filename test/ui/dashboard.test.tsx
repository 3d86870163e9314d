/** The Dashboard with ink-testing-library: a fake store stepped through, frames read as text. */
import assert from 'node:assert/strict'
import {afterEach, describe, test} from 'node:test'
import {render} from 'ink-testing-library'
import {Dashboard} from '../../src/ui/Dashboard.js'
import {createStatusStore, type StatusStore} from '../../src/ui/status-store.js'
import {HASH_B, NOW, nodeFixture, statusFixture, withDp} from './fixtures.js'

const clock = () => NOW
const tick = () => new Promise((r) => setTimeout(r, 30))
/** React flushes effects on its own schedule: poll briefly instead of guessing a delay. */
async function until(ok: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 50 && !ok(); i++) await tick()
  assert.ok(ok(), what)
}
let app: ReturnType<typeof render> | undefined

afterEach(() => {
  app?.unmount()
  app = undefined
})

function mount(store: StatusStore) {
  app = render(<Dashboard store={store} color={false} clock={clock} />)
  return app
}

const dpLine = (frame: string, node: string) => frame.split('\n').find((l) => new RegExp(`^(› |  )${node} +host-a`).test(l)) ?? ''
const ARROW_DOWN = '\u001B[B'

describe('Dashboard', () => {
  test('waits for the first status, then shows totals, both tables and the legend', async () => {
    const store = createStatusStore()
    const {lastFrame} = mount(store)
    assert.match(lastFrame()!, /Reading the cluster/)
    store.setStatus(statusFixture(), NOW)
    await tick()
    const f = lastFrame()!
    assert.match(f, /● healthy · 3\/3 nodes running · 2\/2 DPs in sync · CP config 4f2a9c1e/)
    assert.match(f, /NODES/)
    assert.match(f, /DATA PLANES/)
    assert.match(dpLine(f, 'dp-1'), /4f2a9c1e +in sync +3s ago +in 1094 days +region:eu/)
    assert.match(f, /■ running \/ in sync/)
    assert.doesNotMatch(f, /\u001B\[3\dm/, 'no colours when color is false')
  })

  test('a store stepped through: new hash, a stale DP with its event, the CP away and back', async () => {
    const store = createStatusStore()
    const {lastFrame, frames} = mount(store)
    let s = statusFixture()
    store.setStatus(s, NOW)
    await tick()
    s = {...s, control_plane: {...s.control_plane!, config_hash: HASH_B}, data_planes: s.data_planes.map((d) => ({...d, config_hash: HASH_B}))}
    store.setStatus(s, NOW)
    await tick()
    for (const n of ['dp-1', 'dp-2']) assert.match(dpLine(lastFrame()!, n), /9b7d3e5f +in sync/)
    assert.ok(frames.some((f) => f.includes('config changed to 9b7d3e5f…')), 'the event is printed')

    s = withDp(s, 'dp-2', {sync: 'stale', last_seen: NOW - 12})
    store.setStatus({...s, healthy: false}, NOW)
    await tick()
    assert.match(dpLine(lastFrame()!, 'dp-2'), /stale +12s ago/)
    assert.match(lastFrame()!, /1\/2 DPs in sync/)
    assert.ok(frames.some((f) => f.includes('dp-2 went stale')))

    store.setStatus({...s, control_plane: {...s.control_plane!, reachable: false, error: 'connection refused', unreachable_since: NOW - 5}}, NOW)
    await tick()
    assert.match(lastFrame()!, /CONTROL PLANE cp-1 UNREACHABLE since \d\d:\d\d:\d\d \(5s\): connection refused/)
    assert.match(dpLine(lastFrame()!, 'dp-1'), /in sync/, 'last known rows kept')
    store.setStatus(s, NOW)
    await tick()
    assert.doesNotMatch(lastFrame()!, /UNREACHABLE/)
  })

  test('a control plane stopped by kctl shows as stopped, without the unreachable banner', async () => {
    const store = createStatusStore()
    const {lastFrame, frames} = mount(store)
    const s = statusFixture()
    store.setStatus(s, NOW)
    await until(() => /healthy/.test(lastFrame()!), 'first frame')
    store.setStatus({...s, healthy: false, nodes: [nodeFixture('cp-1', {state: 'stopped', pid: null}), s.nodes[1], s.nodes[2]], control_plane: {...s.control_plane!, reachable: false, error: 'stopped', unreachable_since: null}}, NOW)
    await until(() => /control plane cp-1 is stopped/.test(lastFrame()!), 'the stopped line')
    assert.match(lastFrame()!, /^(› |  )cp-1 +control_plane +\S+ +- +stopped /m)
    assert.ok(frames.every((f) => !/UNREACHABLE/.test(f)), 'never the banner')
  })

  test('keys: select, details, filter, sort, help; q exits', async () => {
    const store = createStatusStore()
    store.setStatus(statusFixture(), NOW)
    const {lastFrame, stdin} = mount(store)
    await tick()
    assert.match(lastFrame()!, /^› cp-1 /m)
    stdin.write(ARROW_DOWN)
    await tick()
    assert.match(lastFrame()!, /^› dp-1 +data_plane/m)
    stdin.write('\r')
    await tick()
    assert.match(lastFrame()!, /details: node:dp-1/)
    assert.match(lastFrame()!, /pid +1004/)
    await until(() => store.get().logFocus === 'dp-1', 'the watch service is asked for its log')
    store.setLog('dp-1', ['[notice] configuration applied'])
    await until(() => /recent log[^\n]*\n[^\n]*configuration applied/.test(lastFrame()!), 'the log lines in the details')
    stdin.write('\r')
    await tick()
    for (const ch of '/dp-2') {
      stdin.write(ch)
      await tick()
    }
    stdin.write('\r')
    await tick()
    assert.doesNotMatch(lastFrame()!, /^ +cp-1 /m)
    assert.match(lastFrame()!, /filter: dp-2/)
    stdin.write('s')
    await tick()
    assert.match(lastFrame()!, /sort: state/)
    stdin.write('?')
    await tick()
    assert.match(lastFrame()!, /↑\/↓ select · Enter details · l log · \/ filter · s sort · \? help · q quit/)
    stdin.write('q')
    await until(() => store.get().logFocus === null, 'the log focus released')
  })
})
