/** The Dashboard with ink-testing-library: a fake store stepped through, frames read as text. */
import assert from 'node:assert/strict'
import {afterEach, describe, test} from 'node:test'
import {render} from 'ink-testing-library'
import {Dashboard} from '../../src/ui/Dashboard.js'
import {createStatusStore, type StatusStore} from '../../src/ui/status-store.js'
import {HASH_B, NOW, nodeFixture, statusFixture, withDp} from './fixtures.js'
import {until} from '../helpers/until.js'

const clock = () => NOW
let app: ReturnType<typeof render> | undefined

afterEach(() => {
  app?.unmount()
  app = undefined
})

/** React renders on its own schedule: every check waits for the frame it expects. */
function mount(store: StatusStore) {
  app = render(<Dashboard store={store} color={false} clock={clock} />)
  const {lastFrame} = app
  /** The first frame that matches `re` (the latest one, once it does). */
  const frame = (what: string, re: RegExp) => until(what, () => lastFrame() ?? '', {ok: (f) => re.test(f), intervalMs: 10, timeoutMs: 10_000})
  return {...app, frame}
}

const dpLine = (frame: string, node: string) => frame.split('\n').find((l) => new RegExp(`^(› |  )${node} +host-a`).test(l)) ?? ''
const ARROW_DOWN = '\u001B[B'

describe('Dashboard', () => {
  test('waits for the first status, then shows totals, both tables and the legend', async () => {
    const store = createStatusStore()
    const {lastFrame, frame} = mount(store)
    assert.match(lastFrame()!, /Reading the cluster/)
    store.setStatus(statusFixture(), NOW)
    const f = await frame('the first status', /NODES/)
    assert.match(f, /● healthy · 3\/3 nodes running · 2\/2 DPs in sync · CP config 4f2a9c1e/)
    assert.match(f, /NODES/)
    assert.match(f, /DATA PLANES/)
    assert.match(dpLine(f, 'dp-1'), /4f2a9c1e +in sync +cp-1 +3s ago +in 1094 days +region:eu/)
    assert.match(f, /■ running \/ in sync/)
    assert.doesNotMatch(f, /\u001B\[3\dm/, 'no colours when color is false')
  })

  test('a store stepped through: new hash, a stale DP with its event, the CP away and back', async () => {
    const store = createStatusStore()
    const {lastFrame, frames, frame} = mount(store)
    let s = statusFixture()
    store.setStatus(s, NOW)
    await frame('the first status', /4f2a9c1e/)
    s = {...s, control_plane: {...s.control_plane!, config_hash: HASH_B}, data_planes: s.data_planes.map((d) => ({...d, config_hash: HASH_B}))}
    store.setStatus(s, NOW)
    await frame('the new hash', /CP config 9b7d3e5f/)
    for (const n of ['dp-1', 'dp-2']) assert.match(dpLine(lastFrame()!, n), /9b7d3e5f +in sync/)
    assert.ok(frames.some((f) => f.includes('config changed to 9b7d3e5f…')), 'the event is printed')

    s = withDp(s, 'dp-2', {sync: 'stale', last_seen: NOW - 12})
    store.setStatus({...s, healthy: false}, NOW)
    await frame('dp-2 stale', /1\/2 DPs in sync/)
    assert.match(dpLine(lastFrame()!, 'dp-2'), /stale +cp-1 +12s ago/)
    assert.match(lastFrame()!, /1\/2 DPs in sync/)
    assert.ok(frames.some((f) => f.includes('dp-2 went stale')))

    store.setStatus({...s, control_plane: {...s.control_plane!, reachable: false, error: 'connection refused', unreachable_since: NOW - 5}}, NOW)
    await frame('the unreachable banner', /UNREACHABLE/)
    assert.match(lastFrame()!, /CONTROL PLANE cp-1 UNREACHABLE since \d\d:\d\d:\d\d \(5s\): connection refused/)
    assert.match(dpLine(lastFrame()!, 'dp-1'), /in sync/, 'last known rows kept')
    store.setStatus(s, NOW)
    await until('the banner to go', () => lastFrame()!, {ok: (f) => !/UNREACHABLE/.test(f), intervalMs: 10})
  })

  test('a control plane stopped by kctl shows as stopped, without the unreachable banner', async () => {
    const store = createStatusStore()
    const {lastFrame, frames} = mount(store)
    const s = statusFixture()
    store.setStatus(s, NOW)
    await until('the first frame', () => lastFrame()!, {ok: (f) => /healthy/.test(f), intervalMs: 10})
    store.setStatus({...s, healthy: false, nodes: [nodeFixture('cp-1', {state: 'stopped', pid: null}), s.nodes[1], s.nodes[2]], control_plane: {...s.control_plane!, reachable: false, error: 'stopped', unreachable_since: null}}, NOW)
    await until('the stopped line', () => lastFrame()!, {ok: (f) => /control plane cp-1 is stopped/.test(f), intervalMs: 10})
    assert.match(lastFrame()!, /^(› |  )cp-1 +control_plane +\S+ +- +stopped /m)
    assert.ok(frames.every((f) => !/UNREACHABLE/.test(f)), 'never the banner')
  })

  test('keys: select, details, filter, sort, help; q exits', async () => {
    const store = createStatusStore()
    store.setStatus(statusFixture(), NOW)
    const {lastFrame, stdin, frame} = mount(store)
    await frame('cp-1 selected', /^› cp-1 /m)
    stdin.write(ARROW_DOWN)
    await frame('dp-1 selected', /^› dp-1 +data_plane/m)
    stdin.write('\r')
    await frame('the details of dp-1', /details: node:dp-1/)
    assert.match(lastFrame()!, /pid +1004/)
    await until('the watch service to be asked for the log of dp-1', () => store.get().logFocus, {ok: (f) => f === 'dp-1', intervalMs: 10})
    store.setLog('dp-1', ['[notice] configuration applied'])
    await frame('the log lines in the details', /recent log[^\n]*\n[^\n]*configuration applied/)
    stdin.write('\r')
    await until('the details to close', () => lastFrame()!, {ok: (f) => !/details: node:dp-1/.test(f), intervalMs: 10})
    stdin.write('/')
    await frame('the filter being edited', /filter: +\(Enter keep · Esc clear\)/)
    let typed = ''
    for (const ch of 'dp-2') {
      stdin.write(ch)
      typed += ch
      await frame(`the filter "${typed}"`, new RegExp(`filter: ${typed} +\\(Enter keep`))
    }
    stdin.write('\r')
    await frame('the filter kept', /sort: name · filter: dp-2/)
    assert.doesNotMatch(lastFrame()!, /^ +cp-1 /m)
    assert.match(lastFrame()!, /filter: dp-2/)
    stdin.write('s')
    await frame('the sort by state', /sort: state/)
    stdin.write('?')
    await frame('the help', /↑\/↓ select · Enter details · l log · \/ filter · s sort · \? help · q quit/)
    stdin.write('q')
    await until('the log focus to be released', () => store.get().logFocus, {ok: (f) => f === null, intervalMs: 10})
  })
})
