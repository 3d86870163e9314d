/**
 * `kctl status --watch` end to end: the real CLI in tmux (a real terminal) against a real
 * hybrid cluster made by `kctl init`, its kctl.yaml setting `conf: {cluster_ping_interval: 2}`:
 * the shortest interval at which the stale rule (1.5 intervals + 1 s for whole-second
 * `last_seen`) is within the 2 intervals.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {watchBed} from './tmux.js'

const REFRESH_S = 0.2
const bed = watchBed()

/** The DATA PLANES row of a node (node rows say `data_plane`; DP rows have the IP). */
const dpRow = (screen: string, node: string): string | undefined => screen.split('\n').find((l) => new RegExp(`^(› |  )${node} +\\S+ +127\\.0\\.0\\.1 `).test(l))
const cpHash = async (): Promise<string> => ((await (await fetch(`${bed.cluster.admin}/status`)).json()) as {configuration_hash: string}).configuration_hash

test('the dashboard follows the cluster: sync, a config change, a dead DP, the CP away and back, q', async () => {
  const t = bed.watch('watch', [`--interval ${REFRESH_S}`])
  const inSync = (s: string, hash: string) => ['dp-1', 'dp-2'].every((n) => / in sync /.test(dpRow(s, n) ?? '') && (dpRow(s, n) ?? '').includes(hash.slice(0, 8)))

  const first = await t.waitFor((s) => s.includes('2/2 DPs in sync') && inSync(s, ''), 'both DPs in sync')
  assert.match(first, /NODES/)
  assert.match(first, /■ running \/ in sync/, 'the colour legend')
  assert.equal(t.cursorVisible(), false, 'the cursor is hidden while the dashboard runs')

  // `/dp-2` Enter: only dp-2's rows (its node row and its DP row) stay.
  const nodeRow = (screen: string, node: string) => new RegExp(`^(› |  )${node} +(control|data)_plane `, 'm').test(screen)
  t.keys('/')
  t.keys('dp-2')
  t.keys('Enter')
  const filtered = await t.waitFor((s) => nodeRow(s, 'dp-2') && Boolean(dpRow(s, 'dp-2')) && !nodeRow(s, 'cp-1') && !nodeRow(s, 'dp-1') && !dpRow(s, 'dp-1'), 'only dp-2 rows')
  assert.match(filtered, /filter: dp-2/i)
  // l: the tail of the selected local node's log (dp-2, the first row left).
  t.keys('l')
  await t.waitFor((s) => s.includes('log: dp-2 (tail)') && /connected to control plane 127\.0\.0\.1:\d+/.test(s), "dp-2's log lines")
  // l again closes the panel; / Esc clears the filter.
  t.keys('l')
  t.keys('/')
  t.keys('Escape')
  await t.waitFor((s) => !s.includes('log: dp-2') && nodeRow(s, 'cp-1') && inSync(s, ''), 'every row back, the log panel closed')

  // A change on the CP: the new hash on every DP row.
  const before = await cpHash()
  const r = await fetch(`${bed.cluster.admin}/services`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({name: 'watched', url: 'http://127.0.0.1:9'})})
  assert.equal(r.status, 201)
  const after = await cpHash()
  assert.notEqual(after, before)
  await t.waitFor((s) => inSync(s, after) && s.includes(`CP config ${after.slice(0, 8)}`), `new hash ${after.slice(0, 8)} on every DP row`)
  await t.waitFor((s) => s.includes(`config changed to ${after.slice(0, 8)}`), 'the config change event')

  // SIGKILL a DP: stale within 2 ping intervals (plus one refresh: the dashboard only sees what it polls).
  await bed.cluster.kill('dp-2', 'SIGKILL')
  const killedAt = Date.now()
  await t.waitFor((s) => / stale /.test(dpRow(s, 'dp-2') ?? ''), 'dp-2 stale', (2 * bed.cluster.pingInterval + REFRESH_S) * 1000 + 500)
  assert.ok(Date.now() - killedAt <= (2 * bed.cluster.pingInterval + REFRESH_S) * 1000 + 500)
  await t.waitFor((s) => s.includes('dp-2 went stale'), 'the stale event')

  // The CP away: a banner, the last state kept; back: the banner goes.
  await bed.cluster.kill('cp-1', 'SIGTERM')
  const away = await t.waitFor((s) => s.includes('CONTROL PLANE cp-1 UNREACHABLE since'), 'the banner')
  // A CP that is draining may reset the poll's connection before it stops listening.
  assert.match(away, /connection (refused|reset)/)
  assert.ok(dpRow(away, 'dp-1'), 'the DP rows stay on screen')
  assert.doesNotMatch(away, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace on screen')
  await bed.cluster.start('cp-1')
  await t.waitFor((s) => !s.includes('UNREACHABLE') && / in sync /.test(dpRow(s, 'dp-1') ?? ''), 'the banner cleared, dp-1 in sync again')

  // q: exit 0, the terminal back in canonical mode with the cursor shown.
  t.keys('q')
  const done = await t.waitFor((s) => /EXIT:\d+/.test(s) && /TTY:/.test(s), 'exit')
  assert.equal(t.exitStatus(), 0, done)
  assert.match(done, /TTY: icanon/, 'raw mode restored')
  assert.equal(t.cursorVisible(), true, 'the cursor is shown again')
})
