/**
 * `kctl status` against a real hybrid cluster made by `kctl init` (`spec.conf` sets a 1 s
 * `cluster_ping_interval`):
 * the --json shape is pinned, plain output has no escape codes, exit 0 healthy / 1 not.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {ROOT} from '../helpers/kctl.js'
import {until} from '../helpers/until.js'
import {type Cluster, startCluster} from '../helpers/nodes.js'

let c: Cluster

before(async () => {
  c = await startCluster({mode: 'hybrid', name: 'st', dataPlanes: 2, pingInterval: 1})
})
after(async () => {
  await c?.cleanup()
})

const NODE_KEYS = ['config_hash', 'config_version', 'connected_to', 'database_reachable', 'error', 'host', 'kctl_version', 'last_crash', 'listen', 'name', 'pid', 'reachable', 'ready', 'restarts', 'role', 'started_at', 'state']
const DP_KEYS = ['cert_expiry', 'config_hash', 'control_plane', 'hostname', 'id', 'ip', 'labels', 'last_seen', 'node', 'sync', 'sync_status', 'version']

/** `kctl status --json` once, parsed. @throws when it printed no JSON. */
async function statusJson(): Promise<{code: number; body: any; stdout: string}> {
  const r = await c.kctl('status', '--json')
  try {
    return {code: r.code, body: JSON.parse(r.stdout), stdout: r.stdout}
  } catch {
    throw new Error(`kctl status --json printed no JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`)
  }
}

const healthyStatus = async (): Promise<any> =>
  (await until('kctl status to report a healthy cluster (exit 0)', statusJson, {ok: (r) => r.code === 0 && r.body.healthy})).body

describe('kctl status', () => {
  test('--json: the documented shape, every DP in sync with the CP hash, exit 0', async () => {
    const s = await healthyStatus()
    assert.deepEqual(Object.keys(s).sort(), ['checked_at', 'cluster', 'control_plane', 'data_planes', 'database', 'healthy', 'mode', 'nodes', 'problems', 'spec', 'warnings'])
    assert.equal(s.cluster, c.name)
    assert.equal(s.mode, 'hybrid')
    assert.match(s.spec, /kctl\.yaml$/)
    assert.deepEqual(s.problems, [])
    assert.deepEqual(s.warnings, [], 'the certificates have 1095 days left')
    assert.deepEqual(Object.keys(s.database).sort(), ['address', 'kind', 'reachable', 'state'])
    assert.equal(s.database.kind, 'embedded')
    assert.deepEqual(s.database.reachable, {'cp-1': true})
    assert.deepEqual(s.nodes.map((n: any) => n.name), ['cp-1', 'dp-1', 'dp-2'])
    for (const n of s.nodes) {
      assert.deepEqual(Object.keys(n).sort(), NODE_KEYS)
      assert.equal(n.state, 'running')
      assert.equal(n.pid, c.pid(n.name))
      assert.equal(n.ready, true)
      assert.equal(n.restarts, 0)
      assert.equal(n.last_crash, null)
      assert.equal(n.kctl_version, JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version, 'the kctl release whose runtime the node runs')
      assert.equal(typeof n.started_at, 'number')
      const cluster = c.state().nodes['cp-1'].listen.cluster
      assert.deepEqual(n.connected_to, n.role === 'data_plane' ? {node: 'cp-1', address: cluster, connected: true} : null, `${n.name}: the CP its /status names`)
    }
    const cp = s.control_plane
    assert.deepEqual(Object.keys(cp).sort(), ['config_hash', 'connected_data_planes', 'error', 'node', 'ping_interval', 'reachable', 'unreachable_since'])
    assert.equal(cp.node, 'cp-1')
    assert.equal(cp.reachable, true)
    assert.equal(cp.ping_interval, 1)
    assert.match(cp.config_hash, /^[0-9a-f]{32}$/)
    assert.equal(s.data_planes.length, 2)
    for (const d of s.data_planes) {
      assert.deepEqual(Object.keys(d).sort(), DP_KEYS)
      assert.equal(d.sync, 'in_sync')
      assert.equal(d.config_hash, cp.config_hash)
      assert.equal(d.ip, '127.0.0.1')
      assert.equal(typeof d.cert_expiry, 'number')
      assert.equal(d.control_plane, 'cp-1')
    }
    assert.deepEqual(s.data_planes.map((d: any) => d.node).sort(), ['dp-1', 'dp-2'])
  })

  test('plain output: aligned text without escape codes', async () => {
    await healthyStatus()
    const r = await c.kctl('status')
    assert.equal(r.code, 0, r.stderr)
    assert.doesNotMatch(r.stdout, /\u001B/)
    assert.match(r.stdout, /^cluster st \(hybrid\)/)
    assert.match(r.stdout, /2\/2 DPs in sync/)
    assert.match(r.stdout, /^NAME +HOSTNAME +IP +VERSION +HASH +SYNC +CP +LAST SEEN +CERT +LABELS/m)
    assert.match(r.stdout, /^dp-1 .* in sync +cp-1 .* in 109[45] days/m)
    assert.match(r.stdout, /\nhealthy\n$/)
  })

  test('a failed DP: exit 1, the node failed, its CP row stale', async () => {
    await c.kill('dp-2', 'SIGKILL')
    const seen: {code: number; stdout: string}[] = []
    const r = await until('kctl status to show dp-2 stale', async () => {
      const r = await statusJson()
      seen.push(r)
      return r
    }, {ok: (r) => r.body.data_planes.find((d: any) => d.node === 'dp-2')?.sync === 'stale'})
    for (const x of seen) assert.equal(x.code, 1, `exit 1 as soon as dp-2 is down: ${x.stdout}`)
    const last = r.body
    assert.equal(last.healthy, false)
    assert.equal(last.nodes.find((n: any) => n.name === 'dp-2').state, 'failed')
    assert.ok(last.problems.includes('dp-2 is failed'), last.problems.join('; '))
    assert.ok(last.problems.includes('dp-2 is stale'), last.problems.join('; '))
    await c.start('dp-2')
    await healthyStatus()
  })

  test('a DP kctl.yaml does not list is shown (node null) with its labels', async () => {
    await c.startStray()
    const r = await until('kctl status to show the stray DP in sync', statusJson, {ok: (r) => r.body.data_planes.find((d: any) => d.node === null)?.sync === 'in_sync'})
    const s = r.body
    assert.deepEqual(s.data_planes.find((d: any) => d.node === null).labels, {site: 'far'})
    assert.equal(s.data_planes.length, 3)
    assert.equal(r.code, 0, r.stdout)
    const plain = await c.kctl('status')
    assert.match(plain.stdout, /\(not in kctl\.yaml\) .* in sync .* site:far/)
  })

  test('--watch without a TTY (CI): one plain block per change; SIGINT ends it with 0', async (t) => {
    // NODE_DEBUG=undici logs every answer the watch receives on stderr: the test counts
    // the control plane's polls that way.
    const env = {...process.env, CI: 'true', KCTL_DATA_DIR: c.dataDir, NODE_DEBUG: 'undici'}
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), 'status', '--watch', '--interval', '0.2'], {cwd: c.cwd, env, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    // a failed assertion must not leave the watch running (its pipes would keep this file alive)
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    })
    const blocks = () => out.split('\n---\n').length - 1
    const cpPolls = () => err.split('\n').filter((l) => l.includes('received response to GET') && l.includes(`${c.admin}/clustering/data-planes`)).length
    await until('the first block', () => blocks(), {ok: (n) => n >= 1, context: () => `stdout:\n${out}\nstderr:\n${err}`})
    assert.match(out, /^cluster st \(hybrid\)/)
    assert.doesNotMatch(out, /\u001B/)
    // Nothing changes: no second block however many polls pass. Two more answers of the CP
    // prove that at least one full poll after the first block was read and rebuilt.
    const seen = cpPolls()
    await until('two more polls of the control plane', cpPolls, {ok: (n) => n >= seen + 2, context: () => `stderr:\n${err}`})
    assert.equal(blocks(), 1, out)
    await c.kill('dp-1', 'SIGKILL')
    // the event's lines and the block's end can come in separate reads: wait for both
    await until('the watch to report dp-1 failed, in a block of its own', () => out, {ok: (o) => /event: dp-1 is failed/.test(o) && blocks() >= 2, context: () => `stdout:\n${out}`})
    child.kill('SIGINT')
    assert.equal(await exited, 0)
    await c.start('dp-1')
  })

  test('usage: --interval below 0.2 and --watch with --json exit 2', async () => {
    const low = await c.kctl('status', '--watch', '--interval', '0.1')
    assert.equal(low.code, 2, low.stderr)
    assert.match(low.stderr, /at least 0\.2/)
    assert.doesNotMatch(low.stderr, /\u001B/)
    const both = await c.kctl('status', '--watch', '--json')
    assert.equal(both.code, 2, both.stdout + both.stderr)
  })
})
