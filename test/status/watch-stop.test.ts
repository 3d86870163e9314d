/**
 * What the live dashboard shows when kctl itself stops things: with `CI=` (empty) it still
 * draws; an orderly `kctl stop dp-2` reads as stopped, never first as failed (the state's
 * intent is written before the signal); a control plane stopped by kctl is "stopped", with
 * no unreachable banner. The real CLI in tmux against a real hybrid cluster.
 */
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {test} from 'node:test'
import {readFileSync} from 'node:fs'
import type {ClusterState} from '../../src/cluster/state.js'
import {processState} from '../../src/services/cluster.js'
import {type TmuxSession, watchBed} from './tmux.js'

const bed = watchBed()

const nodeRow = (screen: string, node: string): string => screen.split('\n').find((l) => new RegExp(`^(› |  )${node} +(control|data)_plane `).test(l)) ?? ''

/** Runs `action` while reading every screen and the local state, each as often as it can be read. */
async function watchDuring(t: TmuxSession, action: () => Promise<unknown>, until: (screen: string) => boolean, node: string): Promise<{screens: string[]; states: string[]}> {
  const screens: string[] = []
  const states: string[] = []
  let running = true
  const file = join(bed.cluster.dataDir, 'clusters', bed.cluster.name, 'state.json')
  const reader = (async () => {
    // The state file as every reader sees it (kctl nodes, status), read as often as possible.
    while (running) {
      const n = (JSON.parse(readFileSync(file, 'utf8')) as ClusterState).nodes[node]
      states.push(processState(n))
      await new Promise((r) => setImmediate(r))
    }
  })()
  const capture = (async () => {
    // Every screen, captured back to back (a capture takes a few ms, a frame lasts at least
    // one refresh interval), so no frame is missed; runs of the same screen are kept once.
    // Asynchronous, so the state reader above keeps its pace.
    while (running) {
      const screen = await t.screenAsync()
      if (screen !== screens.at(-1)) screens.push(screen)
    }
  })()
  try {
    await action()
    await t.waitFor(until, `${node} stopped on screen`)
  } finally {
    running = false
    await Promise.all([reader, capture])
  }
  screens.push(t.screen())
  return {screens, states}
}

test('CI= still draws; kctl stop of a DP and of the CP reads as stopped, never failed or unreachable', async () => {
  const t = bed.watch('watchstop', ['--interval', '0.2'], {CI: ''})
  await t.waitFor((s) => s.includes('NODES') && s.includes('2/2 DPs in sync'), 'the dashboard with CI set to an empty string', 20_000)

  const dp = await watchDuring(t, async () => {
    const r = await bed.cluster.kctl('stop', 'dp-2')
    assert.equal(r.code, 0, r.stderr)
  }, (s) => / stopped /.test(nodeRow(s, 'dp-2')), 'dp-2')
  assert.ok(dp.states.length > 100, `state read ${dp.states.length} times`)
  assert.deepEqual(dp.states.filter((s) => s === 'failed'), [], 'the state never says failed')
  assert.equal(dp.states.at(-1), 'stopped')
  const failedFrame = dp.screens.find((s) => / (failed|unreachable) /.test(nodeRow(s, 'dp-2')))
  assert.equal(failedFrame, undefined, `dp-2 shown failed:\n${failedFrame}`)

  const cp = await watchDuring(t, async () => {
    const r = await bed.cluster.kctl('stop', 'cp-1')
    assert.equal(r.code, 0, r.stderr)
  }, (s) => / stopped /.test(nodeRow(s, 'cp-1')) && s.includes('control plane cp-1 is stopped'), 'cp-1')
  assert.deepEqual(cp.states.filter((s) => s === 'failed'), [])
  const alarm = cp.screens.find((s) => /UNREACHABLE|control plane cp-1 unreachable/.test(s) || / (failed|unreachable) /.test(nodeRow(s, 'cp-1')))
  assert.equal(alarm, undefined, `an alarm for a control plane kctl stopped:\n${alarm}`)

  t.keys('q')
  await t.waitFor((s) => /EXIT:\d+/.test(s), 'exit')
  assert.equal(t.exitStatus(), 0)
})
