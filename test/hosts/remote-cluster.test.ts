// A hybrid cluster on three hosts of the SSH test bed, driven through the real CLI from an
// empty bed: Postgres and the control plane on h1, data planes on h2 and h3. Hosts have no
// Node and no checkout: everything they run is what kctl installed there.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {createSandbox, processesMentioning, type Sandbox} from '../helpers/kctl.js'
import {ROOT} from '../helpers/kctl.js'
import {until} from '../helpers/until.js'
import {tryGet} from '../helpers/http.js'
import {bedSpec, HYBRID_ON_THREE_HOSTS, kctlTraces, SERVED_REMOTELY_KONG_YAML, testbedUnavailable, up, type Testbed} from '../helpers/testbed.js'


describe('a hybrid cluster on three hosts', {skip: testbedUnavailable(), timeout: 900_000}, () => {
  let bed: Testbed
  let sb: Sandbox
  const addr = (n: number): string => bed.hosts[n - 1].address

  before(async () => {
    bed = await up(3)
    sb = await createSandbox()
    await writeFile(
      join(sb.cwd, 'kctl.yaml'),
      bedSpec(bed, {name: 'edge', mode: 'hybrid', body: HYBRID_ON_THREE_HOSTS}),
    )
    await writeFile(join(sb.cwd, 'kong.yaml'), SERVED_REMOTELY_KONG_YAML)
  })
  after(async () => {
    await sb?.cleanup()
    await bed?.down()
  })

  /** Each host's users and processes before kctl touched it (the bed's hosts share this machine's /etc/passwd). */
  const baseline: Record<string, string> = {}

  it('init installs and starts everything from an empty bed', async () => {
    for (const h of ['h1', 'h2', 'h3']) {
      baseline[h] = await kctlTraces(bed, h)
      assert.doesNotMatch(baseline[h], /\/opt\/kctl|\/etc\/kctl|\/var\/lib\/kctl|kctl-edge|main\.js/, `${h} starts empty`)
    }
    const r = await sb.kctl('init', '--json')
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    const j = JSON.parse(r.stdout)
    assert.equal(j.already_running, false)
    for (const h of ['h1', 'h2', 'h3']) assert.ok(j.uploaded[h] > 50 << 20, `the bundle went to ${h}: ${j.uploaded[h]} bytes`)
    assert.ok(j.uploaded.h1 > j.uploaded.h2, 'the database host also got the Postgres binaries')
    const h2 = await bed.exec('h2', 'readlink /opt/kctl/current; ls /opt/kctl/current/; ls /opt/kctl/current/postgres 2>&1; ls /etc/kctl/edge/nodes/dp-1 /var/lib/kctl/edge/nodes/dp-1/logs')
    assert.match(h2.stdout, /^0\.\d+\.\d+\n/, h2.stdout)
    assert.match(h2.stdout, /bin\ndist\nnode_modules\npackage\.json/)
    assert.match(h2.stdout, /No such file/, 'no Postgres on a host without the database')
    assert.match(h2.stdout, /kong\.conf/)
    assert.match(h2.stdout, /node\.log/)
    // every process kctl started on a host runs as the cluster's service user, not as the SSH login (root)
    for (const h of ['h1', 'h2', 'h3']) {
      const ps = (await bed.exec(h, 'ps -eo user:32=,args= | grep -e main.js -e postgres | grep -v grep')).stdout.trim().split('\n')
      assert.ok(ps.length > 0 && ps.every((l) => l.startsWith('kctl-edge ')), `${h}: ${ps.join('\n')}`)
    }
  })

  it('a route applied through the control plane is served by both data planes at their host addresses', async () => {
    const r = await sb.kctl('apply', 'kong.yaml')
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    for (const n of [2, 3]) {
      await until(`dp on h${n} to serve the route`, async () => (await tryGet(`http://${addr(n)}:8000/hello`))?.status === 200, {timeoutMs: 60_000})
      assert.match((await tryGet(`http://${addr(n)}:8000/hello`))!.body, /served remotely/)
    }
  })

  it('status --json shows every node with its host, the data planes in sync', async () => {
    await until('both data planes in sync', async () => {
      const r = await sb.kctl('status', '--json')
      if (r.code !== 0) return false
      const j = JSON.parse(r.stdout)
      return (j.data_planes as {node: string; sync: string}[]).filter((d) => d.sync === 'in_sync').map((d) => d.node).sort().join() === 'dp-1,dp-2'
    }, {timeoutMs: 60_000})
    const j = JSON.parse((await sb.kctl('status', '--json')).stdout)
    const hosts = Object.fromEntries(j.nodes.map((n: {name: string; host: string}) => [n.name, n.host]))
    assert.deepEqual(hosts, {'cp-1': 'h1', 'dp-1': 'h2', 'dp-2': 'h3'})
    for (const n of j.nodes) assert.equal(n.state, 'running', n.name)
  })

  it('logs dp-1 -f streams a line written on h2 after it started', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), 'logs', 'dp-1', '-f', '-n', '1'], {cwd: sb.cwd, env: {...process.env, KCTL_DATA_DIR: sb.dataDir, CI: 'true'}, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    try {
      await until('the first line', async () => out.length > 0, {timeoutMs: 30_000})
      const marker = `marker-${Date.now()}`
      await bed.exec('h2', `echo ${marker} >> /var/lib/kctl/edge/nodes/dp-1/logs/node.log`)
      await until('the new line over SSH', async () => out.includes(marker), {timeoutMs: 30_000})
    } finally {
      child.kill('SIGINT')
      await new Promise((resolve) => child.once('close', resolve))
    }
  })

  it('stop dp-2 stops it on h3, start dp-2 brings it back', async () => {
    const stop = await sb.kctl('stop', 'dp-2', '--json')
    assert.equal(stop.code, 0, stop.stderr)
    assert.deepEqual(JSON.parse(stop.stdout).stopped, ['dp-2'])
    assert.doesNotMatch((await bed.exec('h3', 'ps -eo args')).stdout, /runtime\/main\.js/)
    assert.equal(await tryGet(`http://${addr(3)}:8000/hello`), undefined)
    const start = await sb.kctl('start', 'dp-2', '--json')
    assert.equal(start.code, 0, start.stderr)
    await until('dp-2 to serve again', async () => (await tryGet(`http://${addr(3)}:8000/hello`))?.status === 200, {timeoutMs: 60_000})
  })

  it('restart cp-1 keeps the data planes serving', async () => {
    const r = await sb.kctl('restart', 'cp-1', '--json')
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    assert.deepEqual(JSON.parse(r.stdout).restarted, ['cp-1'])
    for (const n of [2, 3]) assert.equal((await tryGet(`http://${addr(n)}:8000/hello`))?.status, 200)
  })

  it('the control plane killed on h1: both data planes keep serving; start cp-1 brings it back', async () => {
    const nodeOf = async (name: string) => {
      // status exits non-zero while a node is down; its JSON is what counts here
      const r = await sb.kctl('status', '--json')
      return (JSON.parse(r.stdout).nodes as {name: string; state: string; pid: number | null}[]).find((n) => n.name === name)!
    }
    const cp = await nodeOf('cp-1')
    assert.ok(cp.pid, 'cp-1 runs')
    await bed.exec('h1', `kill -KILL ${cp.pid}`)
    await until('cp-1 seen down', async () => (await nodeOf('cp-1')).state !== 'running', {timeoutMs: 60_000})
    assert.notEqual((await bed.exec('h1', `kill -0 ${cp.pid}`)).exitCode, 0, 'the process is gone on h1')
    for (let i = 0; i < 3; i++) {
      for (const n of [2, 3]) {
        const res = await tryGet(`http://${addr(n)}:8000/hello`)
        assert.equal(res?.status, 200, `dp on h${n} serves without its control plane`)
        assert.match(res!.body, /served remotely/)
      }
    }
    const start = await sb.kctl('start', 'cp-1', '--json')
    assert.equal(start.code, 0, `${start.stdout}\n${start.stderr}`)
    await until('both data planes back in sync', async () => {
      const r = await sb.kctl('status', '--json')
      return r.code === 0 && (JSON.parse(r.stdout).data_planes as {sync: string}[]).filter((d) => d.sync === 'in_sync').length === 2
    }, {timeoutMs: 60_000})
  })

  it('re-running init on the running cluster changes and sends nothing', async () => {
    const stamp = 'stat -c "%Y %i" /opt/kctl/current/bin/node /opt/kctl/current/dist/src/runtime/main.js /etc/kctl/edge/nodes/*/kong.conf 2>/dev/null'
    const before = await Promise.all([1, 2, 3].map((n) => bed.exec(`h${n}`, stamp)))
    const again = await sb.kctl('init', '--json')
    assert.equal(again.code, 0, again.stderr)
    assert.equal(JSON.parse(again.stdout).already_running, true)
    // a stopped node: init installs again (nothing to send) and starts it
    assert.equal((await sb.kctl('stop', 'dp-1')).code, 0)
    const r = await sb.kctl('init', '--json')
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    assert.deepEqual(JSON.parse(r.stdout).uploaded, {h2: 0})
    const after = await Promise.all([1, 2, 3].map((n) => bed.exec(`h${n}`, stamp)))
    assert.deepEqual(after.map((a) => a.stdout.split('\n').slice(0, 2)), before.map((b) => b.stdout.split('\n').slice(0, 2)), 'the installed files are untouched')
    await until('dp-1 to serve again', async () => (await tryGet(`http://${addr(2)}:8000/hello`))?.status === 200, {timeoutMs: 60_000})
  })

  it('destroy leaves nothing on any host and nothing here', async () => {
    const r = await sb.kctl('destroy', '--yes', '--json')
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    for (const h of ['h1', 'h2', 'h3']) assert.equal(await kctlTraces(bed, h), baseline[h], `nothing of kctl's left on ${h}`)
    assert.equal(existsSync(join(sb.dataDir, 'clusters')), false)
    assert.deepEqual(await processesMentioning(sb.dir), [])
  })
})
