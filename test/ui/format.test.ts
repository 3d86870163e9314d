/** Pure formatters and models: relative times, expiry tones, sync states, rows, events, keys, store. */
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {buildStatus, problemsOf, syncOf, type Observations} from '../../src/services/status/build.js'
import type {LocalCluster, LocalNode} from '../../src/services/status/local.js'
import {diffEvents} from '../../src/ui/events.js'
import {certExpiry, duration, relativeTime, shortHash} from '../../src/ui/format.js'
import {plainStatus} from '../../src/ui/plain.js'
import {expiryWarnings, type CertificateEntry} from '../../src/cluster/cert-inventory.js'
import {dataPlaneRows, detailsOf, filterRows, nodeRows, rowBudget, sortRows, totals, windowRows} from '../../src/ui/rows.js'
import {createStatusStore} from '../../src/ui/status-store.js'
import {initialView, reduceInput, reduceKey} from '../../src/ui/view-state.js'
import {dpFixture, HASH_A, HASH_B, nodeFixture, NOW, statusFixture, withDp} from './fixtures.js'

describe('format', () => {
  test('relative times and durations', () => {
    assert.equal(relativeTime(NOW, NOW), 'now')
    assert.equal(relativeTime(NOW - 3, NOW + 0.9), '3s ago')
    assert.equal(relativeTime(NOW - 125, NOW), '2m ago')
    assert.equal(relativeTime(NOW - 7200, NOW), '2h ago')
    assert.equal(relativeTime(NOW - 3 * 86_400, NOW), '3d ago')
    assert.equal(duration(42), '42s')
    assert.equal(duration(303), '5m 3s')
    assert.equal(duration(7500), '2h 5m')
    assert.equal(duration(3 * 86_400 + 4 * 3600), '3d 4h')
  })

  test('certificate expiry: days left, amber under 30 days, red under 7', () => {
    assert.deepEqual(certExpiry(NOW + 1094 * 86_400 + 5, NOW), {text: 'in 1094 days', tone: 'normal'})
    assert.deepEqual(certExpiry(NOW + 29 * 86_400, NOW), {text: 'in 29 days', tone: 'warn'})
    assert.deepEqual(certExpiry(NOW + 6 * 86_400, NOW), {text: 'in 6 days', tone: 'bad'})
    assert.deepEqual(certExpiry(NOW + 1 * 86_400, NOW), {text: 'in 1 day', tone: 'bad'})
    assert.deepEqual(certExpiry(NOW + 5 * 3600, NOW), {text: 'in 5 hours', tone: 'bad'})
    assert.deepEqual(certExpiry(NOW - 2 * 86_400, NOW), {text: 'expired 2 days ago', tone: 'bad'})
    assert.deepEqual(certExpiry(null, NOW), {text: '-', tone: 'muted'})
    assert.equal(shortHash(HASH_A), '4f2a9c1e')
    assert.equal(shortHash(null), '-')
  })

  test('sync state: stale past 1.5 ping intervals plus 1 s for whole-second last_seen, incompatible, in sync, behind', () => {
    const row = {id: 'x', hostname: 'h', ip: 'i', version: 'v', last_seen: NOW, config_hash: HASH_A, sync_status: 'normal'}
    // A 1 s interval, pings at NOW+0.99 (read as NOW) and NOW+2.01 (late): at NOW+2.005 the DP
    // was silent 1.015 s, not stale, though last_seen is 2 s old.
    assert.equal(syncOf(row, HASH_A, 1, NOW + 2.005), 'in_sync')
    assert.equal(syncOf(row, HASH_A, 1, NOW + 2.5), 'in_sync')
    assert.equal(syncOf(row, HASH_A, 1, NOW + 2.51), 'stale')
    assert.equal(syncOf(row, HASH_A, 30, NOW + 46), 'in_sync')
    assert.equal(syncOf(row, HASH_A, 30, NOW + 46.01), 'stale')
    assert.equal(syncOf(row, HASH_A, 2, NOW + 4.01), 'stale', 'within 2 intervals of the last ping from 2 s up')
    assert.equal(syncOf(row, HASH_B, 1, NOW), 'behind')
    assert.equal(syncOf({...row, sync_status: 'kong_version_incompatible'}, HASH_A, 1, NOW), 'incompatible')
    assert.equal(syncOf({...row, sync_status: 'unknown'}, HASH_A, 1, NOW), 'in_sync')
    // a DP following by kong.sync.v2 reports %032d of its version
    const v2 = {...row, config_hash: '00000000000000000000000000000042', rpc_capabilities: ['kong.sync.v2']}
    assert.equal(syncOf(v2, HASH_A, 1, NOW, 42), 'in_sync')
    assert.equal(syncOf(v2, HASH_A, 1, NOW, 43), 'behind')
    assert.equal(syncOf(v2, HASH_A, 1, NOW, null), 'behind')
  })
})

describe('health', () => {
  test('every unhealthy state is a problem (kctl status exits 1 on any), a healthy cluster has none', () => {
    const base = statusFixture()
    assert.deepEqual(problemsOf(base), [])
    const cases: Array<[string, ReturnType<typeof statusFixture>, RegExp]> = [
      ['behind', withDp(base, 'dp-1', {sync: 'behind', config_hash: HASH_B}), /^dp-1 is behind$/],
      ['incompatible', withDp(base, 'dp-2', {sync: 'incompatible', sync_status: 'kong_version_incompatible'}), /^dp-2 is incompatible \(kong_version_incompatible\)$/],
      ['stale', withDp(base, 'dp-2', {sync: 'stale'}), /^dp-2 is stale$/],
      ['node stopped', {...base, nodes: [base.nodes[0], nodeFixture('dp-1', {state: 'stopped'}), base.nodes[2]]}, /^dp-1 is stopped$/],
      ['node failed', {...base, nodes: [base.nodes[0], base.nodes[1], nodeFixture('dp-2', {state: 'failed'})]}, /^dp-2 is failed$/],
      ['not ready', {...base, nodes: [base.nodes[0], nodeFixture('dp-1', {ready: false, error: 'no configuration'}), base.nodes[2]]}, /^dp-1 is not ready \(no configuration\)$/],
      ['database down', {...base, database: {...base.database, state: 'stopped'}}, /^the database is stopped$/],
      ['CP unreachable', {...base, control_plane: {...base.control_plane!, reachable: false, error: 'connection refused'}}, /^control plane cp-1 is unreachable \(connection refused\)$/],
      ['DP unknown to the CP', {...base, data_planes: [dpFixture('dp-1')]}, /^dp-2 is not known to the control plane$/],
    ]
    for (const [what, s, expected] of cases) {
      const problems = problemsOf(s)
      assert.equal(problems.length, 1, `${what}: ${JSON.stringify(problems)}`)
      assert.match(problems[0], expected, what)
    }
  })
})

describe('rows', () => {
  test('state → rows with tones; DPs unknown to kctl.yaml marked', () => {
    const s = statusFixture({data_planes: [dpFixture('dp-1'), dpFixture(null, {hostname: 'far', sync: 'behind', config_hash: HASH_B})]})
    const dps = dataPlaneRows(s, NOW)
    assert.deepEqual(dps[0].cells.map((c) => c.text), ['dp-1', 'host-a', '127.0.0.1', '3.9.0', '4f2a9c1e', 'in sync', 'cp-1', '3s ago', 'in 1094 days', 'region:eu'])
    assert.equal(dps[0].cells[5].tone, 'good')
    assert.match(dps[1].cells[0].text, /\(not in kctl\.yaml\)$/)
    assert.deepEqual([dps[1].cells[5].text, dps[1].cells[5].tone], ['behind', 'warn'])
    const nodes = nodeRows(s, NOW)
    assert.deepEqual(nodes[0].cells.map((c) => c.text).slice(0, 8), ['cp-1', 'control_plane', 'localhost', '1004', 'running', '2m 5s', '0', '4f2a9c1e'])
    assert.deepEqual(nodeRows({...s, nodes: [{...s.nodes[0], state: 'failed', pid: null, started_at: null}]}, NOW)[0].cells[4], {text: 'failed', tone: 'bad'})
  })

  test('restarts and the last crash: a column, a line under the plain table, a details field', () => {
    const crash = {at: NOW - 60, cause: 'exit code 1 (crashed: Error: boom)'}
    const s = statusFixture({nodes: [nodeFixture('cp-1', {restarts: 2, last_crash: crash}), nodeFixture('dp-1')]})
    const [cp, dp] = nodeRows(s, NOW)
    assert.deepEqual(cp.cells[6], {text: '2', tone: 'warn'})
    assert.deepEqual(dp.cells[6], {text: '0', tone: undefined})
    const text = plainStatus(s, NOW)
    assert.match(text, /RESTARTS/)
    assert.match(text, /^cp-1 last crash \d\d:\d\d:\d\d exit code 1 \(crashed: Error: boom\)$/m)
    assert.doesNotMatch(text, /dp-1 last crash/)
    const details = Object.fromEntries(detailsOf(s, 'node:cp-1'))
    assert.equal(details.restarts, '2')
    assert.match(details.last_crash, /^\d\d:\d\d:\d\d exit code 1 \(crashed: Error: boom\)$/)
  })

  test('totals, filter and sort', () => {
    const s = withDp(statusFixture(), 'dp-2', {sync: 'stale', last_seen: NOW - 20})
    assert.equal(totals(s), '3/3 nodes running · 1/2 DPs in sync · CP config 4f2a9c1e')
    const rows = dataPlaneRows(s, NOW)
    assert.deepEqual(filterRows(rows, 'STALE').map((r) => r.name), ['dp-2'])
    assert.deepEqual(filterRows(rows, '').length, 2)
    assert.deepEqual(sortRows(rows, 'state').map((r) => r.name), ['dp-2', 'dp-1'])
    assert.deepEqual(sortRows(rows, 'last seen').map((r) => r.name), ['dp-1', 'dp-2'])
    assert.deepEqual(sortRows([...rows].reverse(), 'name').map((r) => r.name), ['dp-1', 'dp-2'])
  })

  test('rows windowed to the screen around the selection', () => {
    const rows = Array.from({length: 100}, (_, i) => ({key: `dp:${i}`, name: `dp-${i}`, cells: [], seen: 0, rank: 0}))
    assert.deepEqual(windowRows(rows.slice(0, 3), null, 10), {rows: rows.slice(0, 3), above: 0, below: 0})
    const w = windowRows(rows, 'dp:50', 10)
    assert.deepEqual([w.rows[0].key, w.rows.length, w.above, w.below], ['dp:45', 10, 45, 45])
    assert.deepEqual(windowRows(rows, 'dp:99', 10).below, 0)
    assert.deepEqual(windowRows(rows, null, 10).above, 0)
    assert.deepEqual(rowBudget(30, 3, 2), {nodes: 3, dps: 2})
    assert.deepEqual(rowBudget(30, 3, 100), {nodes: 3, dps: 27})
  })

  test('plain block: aligned, no escape codes, problems listed', () => {
    const s = {...withDp(statusFixture(), 'dp-2', {sync: 'stale'}), healthy: false, problems: ['dp-2 is stale']}
    const text = plainStatus(s, NOW)
    assert.doesNotMatch(text, /\u001B/)
    assert.match(text, /^dp-2 +host-a +127\.0\.0\.1 +3\.9\.0 +4f2a9c1e +stale +cp-1 +3s ago/m)
    assert.match(text, /unhealthy: dp-2 is stale$/)
  })
})

describe('events', () => {
  test('went stale, config changed, joined, left, CP away and back', () => {
    const a = statusFixture()
    assert.deepEqual(diffEvents(null, a), [])
    const texts = (p: typeof a, n: typeof a) => diffEvents(p, n).map((e) => e.text)
    assert.deepEqual(texts(a, withDp(a, 'dp-2', {sync: 'stale'})), ['dp-2 went stale'])
    assert.deepEqual(texts(a, {...a, control_plane: {...a.control_plane!, config_hash: HASH_B}}), ['config changed to 9b7d3e5f…'])
    assert.deepEqual(texts(a, {...a, data_planes: [...a.data_planes, dpFixture('dp-3')]}), ['dp-3 joined (in sync)'])
    assert.deepEqual(texts(a, {...a, data_planes: a.data_planes.slice(0, 1)}), ['dp-2 left'])
    const away = {...a, control_plane: {...a.control_plane!, reachable: false, error: 'connection refused', unreachable_since: NOW}}
    assert.deepEqual(texts(a, away), ['control plane cp-1 unreachable: connection refused'])
    assert.deepEqual(texts(away, a), ['control plane cp-1 answers again'])
  })

  test('a control plane stopped by kctl: the node stopped, no unreachable alarm', () => {
    const a = statusFixture()
    const stopped = {...a, nodes: [nodeFixture('cp-1', {state: 'stopped', pid: null}), a.nodes[1], a.nodes[2]], control_plane: {...a.control_plane!, reachable: false, error: 'stopped', unreachable_since: null}}
    assert.deepEqual(diffEvents(a, stopped).map((e) => e.text), ['cp-1 is stopped'])
    assert.deepEqual(problemsOf(stopped), ['cp-1 is stopped'])
    assert.match(plainStatus(stopped, NOW), /^control plane cp-1 is stopped \(`kctl start cp-1`; last known state below\)$/m)
    assert.doesNotMatch(plainStatus(stopped, NOW), /UNREACHABLE/)
  })
})

describe('store and keys', () => {
  test('the store emits only on a real change and records events', () => {
    const store = createStatusStore()
    let emits = 0
    store.subscribe(() => emits++)
    store.setStatus(statusFixture(), NOW)
    store.setStatus({...statusFixture(), checked_at: NOW + 1}, NOW + 1)
    assert.equal(emits, 1)
    store.setStatus(withDp(statusFixture(), 'dp-1', {sync: 'behind'}), NOW + 2)
    assert.equal(emits, 2)
    assert.deepEqual(store.get().events.map((e) => [e.id, e.text, e.at]), [[1, 'dp-1 fell behind', NOW + 2]])
    store.setLogFocus('dp-1')
    store.setLog('dp-1', ['a'])
    store.setLog('dp-1', ['a'])
    assert.equal(emits, 4)
  })

  test('keys arriving in one read (paste, fast typing over ssh): each character is a key; \\r is Enter', () => {
    const keys = ['node:cp-1', 'node:dp-2']
    const v = reduceInput(initialView, {input: '/dp-2\r'}, keys)
    assert.equal(v.filter, 'dp-2')
    assert.equal(v.editingFilter, false)
    assert.equal(reduceInput(v, {input: 'lq'}, keys).panel, 'log')
    assert.equal(reduceInput(v, {input: 'lq'}, keys).quit, true)
    assert.equal(reduceInput(reduceInput(initialView, {input: '/'}, keys), {input: 'edge q'}, keys).filter, 'edge q', 'pasted into the filter prompt: text')
  })

  test('keys: move, details, filter typing, sort cycle, help, quit', () => {
    const keys = ['node:cp-1', 'node:dp-1', 'dp:x']
    let v = reduceKey(initialView, {input: '', downArrow: true}, keys)
    assert.equal(v.selected, 'node:dp-1')
    v = reduceKey(reduceKey(v, {input: '', downArrow: true}, keys), {input: '', downArrow: true}, keys)
    assert.equal(v.selected, 'dp:x')
    assert.equal(reduceKey(v, {input: '', return: true}, keys).panel, 'details')
    v = reduceKey(v, {input: '/'}, keys)
    for (const ch of 'dp-') v = reduceKey(v, {input: ch}, keys)
    v = reduceKey(v, {input: '', backspace: true}, keys)
    assert.equal(v.filter, 'dp')
    v = reduceKey(v, {input: 'q'}, keys)
    assert.equal(v.quit, false, 'q while typing a filter is text')
    assert.equal(v.filter, 'dpq')
    v = reduceKey(v, {input: '', return: true}, keys)
    assert.equal(v.editingFilter, false)
    assert.deepEqual([1, 2, 3].map(() => (v = reduceKey(v, {input: 's'}, keys)).sort), ['state', 'last seen', 'name'])
    assert.equal(reduceKey(v, {input: '?'}, keys).panel, 'help')
    assert.equal(reduceKey(v, {input: 'l'}, keys).panel, 'log')
    assert.equal(reduceKey(v, {input: 'q'}, keys).quit, true)
    assert.equal(reduceKey({...v, editingFilter: true}, {input: 'c', ctrl: true}, keys).quit, true)
  })
})

describe('buildStatus', () => {
  test('a DP node row and its DATA PLANES row show the same hash: the CP read of that round', () => {
    const dp = (name: string, id: string): LocalNode => ({name, role: 'data_plane', pid: 2000, state: 'running', started_at: NOW - 60, listen: {status: '127.0.0.1:8100'}, statusUrl: 'http://127.0.0.1:8100', logFile: '/dev/null', dpId: id, supervision: null})
    const cp: LocalNode = {name: 'cp-1', role: 'control_plane', pid: 1000, state: 'running', started_at: NOW - 60, listen: {admin: '127.0.0.1:8001'}, adminUrl: 'http://127.0.0.1:8001', statusUrl: 'http://127.0.0.1:8007', logFile: '/dev/null', dpId: null, supervision: null}
    const local: LocalCluster = {name: 'demo', mode: 'hybrid', specPath: '/x/kctl.yaml', connection: {host: '127.0.0.1', port: 5432, user: 'kong', database: 'kong'}, embedded: {state: 'running'}, nodes: [cp, dp('dp-1', 'id-1'), dp('dp-2', 'id-2')], pingInterval: 1, certificates: []}
    const probe = (hash: string) => ({ok: true, ready: true, body: {configuration_hash: hash}, error: null})
    const row = (id: string, hash: string) => ({id, hostname: 'h', ip: '127.0.0.1', last_seen: NOW, updated_at: NOW, ttl: 1209600, config_hash: hash, version: '3.9.0', sync_status: 'normal', labels: {}, cert_details: {}, rpc_capabilities: []})
    // dp-1's own /status already has B (its loop ran after the change); the CP's round still lists A.
    const obs: Observations = {
      nodes: {'cp-1': probe(HASH_A), 'dp-1': probe(HASH_B), 'dp-2': probe(HASH_A)},
      cp: {node: 'cp-1', rows: [row('id-1', HASH_A), row('id-2', HASH_A)], hash: HASH_A, connected: 2, error: null, unreachableSince: null, rowsAt: NOW},
    }
    const s = buildStatus(local, obs, NOW)
    for (const name of ['dp-1', 'dp-2']) {
      const node = s.nodes.find((n) => n.name === name)!
      const row = s.data_planes.find((d) => d.node === name)!
      assert.equal(node.config_hash, row.config_hash, name)
    }
    // A DP the CP does not list keeps what it said itself.
    const alone = buildStatus(local, {...obs, cp: {...obs.cp!, rows: [row('id-2', HASH_A)]}}, NOW)
    assert.equal(alone.nodes.find((n) => n.name === 'dp-1')!.config_hash, HASH_B)
  })
})

describe('certificate expiry warnings', () => {
  const entry = (over: Partial<CertificateEntry>): CertificateEntry => ({kind: 'cluster', node: null, file: '/s/certs/cluster.crt', generated: true, subject: 'CN=kong_clustering', expires_at: new Date((NOW + 10 * 86_400 + 60) * 1000).toISOString(), fingerprint_sha256: 'ab', error: null, ...over})

  test('within 30 days: one line each, saying what to run; later ones and unreadable files none', () => {
    const lines = expiryWarnings([
      entry({}),
      entry({kind: 'node', node: 'dp-1', file: '/s/certs/dp-1.crt', expires_at: new Date((NOW - 2 * 86_400) * 1000).toISOString()}),
      entry({kind: 'proxy', node: 'dp-2', file: '/etc/tls/proxy.crt', generated: false}),
      entry({kind: 'ca', expires_at: new Date((NOW + 31 * 86_400) * 1000).toISOString()}),
      entry({expires_at: null, error: 'no such file'}),
    ], NOW)
    assert.deepEqual(lines, [
      `the cluster certificate (/s/certs/cluster.crt) expires in 10 day(s) (${entry({}).expires_at}): run \`kctl certs rotate\``,
      `the cluster certificate of dp-1 (/s/certs/dp-1.crt) expired 2 day(s) ago (${new Date((NOW - 2 * 86_400) * 1000).toISOString()}): run \`kctl certs rotate\``,
      `the proxy certificate of dp-2 (/etc/tls/proxy.crt) expires in 10 day(s) (${entry({}).expires_at}): replace the file, then \`kctl reload dp-2\``,
    ])
  })

  test('status carries them as warnings (healthy stays true) and the plain output shows them', () => {
    const s = statusFixture({warnings: expiryWarnings([entry({})], NOW)})
    assert.equal(s.healthy, true)
    assert.match(plainStatus(s, NOW), /^warning: the cluster certificate \(\/s\/certs\/cluster\.crt\) expires in 10 day\(s\) .*run `kctl certs rotate`$/m)
    assert.doesNotMatch(plainStatus(statusFixture(), NOW), /warning:/)
  })
})
