// `kctl upgrade` and `--rollback` of a hybrid cluster on two hosts of the SSH test bed:
// Postgres and the control plane on h1, both data planes on h2. A second build (this one
// with another version string) installs its bundle beside the first on each host and moves
// every node over under a load on both data planes; then back. 0 failed requests each way.
// h2's PID 1 is systemd, so its data planes run as units: a rolling restart, the upgrade and
// the rollback each replace a unit's main process, and systemd must follow the node to its
// new supervisor (PIDFile=) rather than end the unit. h1 has no systemd: cp-1 runs detached.
import assert from 'node:assert/strict'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {createSandbox, processesMentioning, runKctl, type KctlRun, type Sandbox} from '../helpers/kctl.js'
import {failures, startLoad} from '../helpers/load.js'
import {secondBuild, THIS_VERSION} from '../helpers/second-build.js'
import {until} from '../helpers/until.js'
import {bedSpec, SERVED_REMOTELY_KONG_YAML, systemdBedUnavailable, up, type Testbed} from '../helpers/testbed.js'

const THIS = THIS_VERSION
const NEXT = `${THIS}-next.1`


describe('kctl upgrade and --rollback on two hosts', {skip: systemdBedUnavailable(), timeout: 1_200_000}, () => {
  let bed: Testbed
  let sb: Sandbox
  let next: string
  const addr = (n: number): string => bed.hosts[n - 1].address
  const nextKctl = (...args: string[]): Promise<KctlRun> => runKctl(args, {cwd: sb.cwd, env: {KCTL_DATA_DIR: sb.dataDir}, bin: join(next, 'bin', 'run.js')})
  const versions = async (): Promise<Record<string, string | null>> => {
    const r = await sb.kctl('nodes', '--json')
    assert.equal(r.code, 0, r.stderr)
    return Object.fromEntries(JSON.parse(r.stdout).nodes.map((n: {name: string; kctl_version: string | null}) => [n.name, n.kctl_version]))
  }
  /** The bundles on host `n`, `current`'s target, and the Node binaries its gateway processes run. */
  const onHost = async (n: number): Promise<{bundles: string[]; current: string; binaries: string[]}> => {
    const out = async (cmd: string): Promise<string[]> => (await bed.exec(`h${n}`, cmd)).stdout.split('\n').filter(Boolean)
    const bundles = (await out('ls /opt/kctl')).filter((b) => b !== 'current')
    const current = (await out('readlink /opt/kctl/current'))[0]
    const binaries = [...new Set((await out('ps -eo args')).filter((l) => l.includes('runtime/main.js')).map((l) => l.split(' ')[0]))]
    return {bundles, current, binaries}
  }
  const loadOnDps = () => [8000, 8001].map((port) => startLoad(`http://${addr(2)}:${port}/hello`, 2))
  /** What systemd on h2 says of a data plane's unit, and the pid its supervisor.pid names. */
  const unitOf = async (node: string): Promise<{state: string; mainPid: number; restarts: number; pidFile: number; command: string}> => {
    const show = (await bed.exec('h2', `systemctl show -p ActiveState,SubState,MainPID,NRestarts kctl-edge-${node}.service`)).stdout
    const v = Object.fromEntries(show.trim().split('\n').map((l) => l.split('=')))
    const pidFile = Number((await bed.exec('h2', `cat /var/lib/kctl/edge/nodes/${node}/supervisor.pid`)).stdout.trim())
    const command = (await bed.exec('h2', `tr '\\0' ' ' </proc/${v.MainPID}/cmdline`)).stdout
    return {state: `${v.ActiveState}/${v.SubState}`, mainPid: Number(v.MainPID), restarts: Number(v.NRestarts), pidFile, command}
  }
  const units = async () => Object.fromEntries(await Promise.all(['dp-1', 'dp-2'].map(async (n) => [n, await unitOf(n)] as const)))
  /** Each data plane's unit is running, its main process the node's supervisor, never restarted by systemd. */
  const assertUnitsFollow = async (before?: Awaited<ReturnType<typeof units>>) => {
    const now = await units()
    for (const [n, u] of Object.entries(now)) {
      assert.equal(u.state, 'active/running', `${n}'s unit`)
      assert.equal(u.restarts, 0, `systemd never restarted ${n}`)
      assert.equal(u.mainPid, u.pidFile, `${n}'s unit follows the pid its supervisor wrote`)
      assert.match(u.command, new RegExp(`main\\.js --conf /etc/kctl/edge/nodes/${n}/kong\\.conf`), `${n}'s main process is its supervisor`)
      if (before) assert.notEqual(u.mainPid, before[n].mainPid, `${n} has a new supervisor`)
    }
    return now
  }

  before(async () => {
    bed = await up(2, {systemd: ['h2']})
    sb = await createSandbox()
    next = secondBuild(join(sb.dir, 'kctl-next'), NEXT)
    await writeFile(
      join(sb.cwd, 'kctl.yaml'),
      bedSpec(bed, {
        name: 'edge',
        mode: 'hybrid',
        body: `  database: {embedded: true, host: h1}
  nodes:
    - {name: cp-1, role: control_plane, host: h1}
    - {name: dp-1, role: data_plane, host: h2, proxy_listen: 0.0.0.0:8000, status_listen: 127.0.0.1:8100}
    - {name: dp-2, role: data_plane, host: h2, proxy_listen: 0.0.0.0:8001, status_listen: 127.0.0.1:8101}
`,
      }),
    )
    await writeFile(join(sb.cwd, 'kong.yaml'), SERVED_REMOTELY_KONG_YAML)
    const init = await sb.kctl('init')
    assert.equal(init.code, 0, `${init.stdout}\n${init.stderr}`)
    const apply = await sb.kctl('apply', 'kong.yaml')
    assert.equal(apply.code, 0, `${apply.stdout}\n${apply.stderr}`)
    for (const port of [8000, 8001]) await until(`the data plane on h2:${port} to serve`, async () => (await fetch(`http://${addr(2)}:${port}/hello`).catch(() => undefined))?.status === 200, {timeoutMs: 60_000})
  })
  after(async () => {
    await sb?.cleanup()
    await bed?.down()
  })

  it('every node starts on the version of the build that made the cluster', async () => {
    assert.deepEqual(await versions(), {postgres: null, 'cp-1': THIS, 'dp-1': THIS, 'dp-2': THIS})
  })

  it('the data planes on h2 run as systemd units, cp-1 on h1 detached', async () => {
    await assertUnitsFollow()
    assert.equal((await bed.exec('h1', 'ls /etc/systemd/system 2>/dev/null | grep kctl; true')).stdout.trim(), '', 'h1 has no systemd: no unit')
  })

  it('a rolling restart under a load on both data planes: 0 failed requests, systemd follows each node to its new supervisor', async () => {
    const before = await units()
    const loads = loadOnDps()
    await until('the load to be under way', async () => loads.every((l) => l.done() > 10))
    const r = await sb.kctl('restart', '--json')
    const shots = (await Promise.all(loads.map((l) => l.stop()))).flat()
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    assert.deepEqual(JSON.parse(r.stdout).restarted, ['cp-1', 'dp-1', 'dp-2'])
    assert.ok(shots.length > 50, `${shots.length} requests`)
    assert.deepEqual(failures(shots), {}, `${shots.length} requests over 2 DPs, none may fail`)
    await assertUnitsFollow(before)
    for (const n of [1, 2]) assert.equal((await bed.exec('h2', `ps -o pid= -p ${before[`dp-${n}`].mainPid}`)).stdout.trim(), '', `dp-${n}'s old supervisor is gone`)
  })

  it('a unit whose runtime writes no supervisor.pid (an older kctl\'s) is restarted by stop and start, with a warning, never left to systemd', async () => {
    await bed.exec('h2', 'rm /var/lib/kctl/edge/nodes/dp-2/supervisor.pid')
    const r = await sb.kctl('restart', 'dp-2', '--json')
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    assert.deepEqual(JSON.parse(r.stdout).restarted, ['dp-2'])
    assert.match(r.stderr, /dp-2 is restarted by stopping it \(dp-2 runs as a systemd unit from a runtime that does not tell systemd where the node goes on a handover/)
    await until('dp-2 to serve again', async () => (await fetch(`http://${addr(2)}:8001/hello`).catch(() => undefined))?.status === 200, {timeoutMs: 60_000})
    await assertUnitsFollow()
  })

  it('upgrade by the second build under a load on both data planes: 0 failed requests, its bundle beside the first on each host, every node on it', async () => {
    const loads = loadOnDps()
    await until('the load to be under way', async () => loads.every((l) => l.done() > 10))
    const r = await nextKctl('upgrade', '--json')
    const shots = (await Promise.all(loads.map((l) => l.stop()))).flat()
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    assert.deepEqual(JSON.parse(r.stdout), {cluster: 'edge', rollback: false, to: NEXT, migrations: [], upgraded: ['cp-1', 'dp-1', 'dp-2'], not_running: [], unchanged: []})
    assert.ok(shots.length > 50, `${shots.length} requests`)
    assert.deepEqual(failures(shots), {}, `${shots.length} requests over 2 DPs, none may fail`)
    assert.deepEqual(await versions(), {postgres: null, 'cp-1': NEXT, 'dp-1': NEXT, 'dp-2': NEXT})
    for (const n of [1, 2]) {
      const h = await onHost(n)
      assert.deepEqual(h.bundles.sort(), [THIS, NEXT].sort(), `h${n} keeps the first version for a rollback`)
      assert.equal((await bed.exec(`h${n}`, `ls /opt/kctl/${NEXT}/.clusters`)).stdout.trim(), 'edge', `h${n}: the new bundle is marked as the cluster's`)
      assert.equal(h.current, NEXT, `h${n}'s current link`)
      assert.deepEqual(h.binaries, [`/opt/kctl/${NEXT}/bin/node`], `h${n}'s gateway processes run the new bundle's Node`)
    }
    assert.equal((await bed.exec('h2', 'cat /var/lib/kctl/edge/nodes/dp-1/runtime.entry')).stdout.trim(), `/opt/kctl/${NEXT}/dist/src/runtime/main.js`)
    await assertUnitsFollow()
    assert.match((await bed.exec('h2', 'cat /etc/systemd/system/kctl-edge-dp-1.service')).stdout, new RegExp(`^ExecStart=/opt/kctl/${NEXT}/bin/node `, 'm'), 'the unit starts the new version from now on')
  })

  it('--rollback under the same load: 0 failed requests, every node back on the first version, current back', async () => {
    const loads = loadOnDps()
    await until('the load to be under way', async () => loads.every((l) => l.done() > 10))
    const r = await nextKctl('upgrade', '--rollback', '--json')
    const shots = (await Promise.all(loads.map((l) => l.stop()))).flat()
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    assert.deepEqual(JSON.parse(r.stdout), {cluster: 'edge', rollback: true, to: THIS, migrations: [], upgraded: ['cp-1', 'dp-1', 'dp-2'], not_running: [], unchanged: []})
    assert.ok(shots.length > 50, `${shots.length} requests`)
    assert.deepEqual(failures(shots), {}, `${shots.length} requests over 2 DPs, none may fail`)
    assert.deepEqual(await versions(), {postgres: null, 'cp-1': THIS, 'dp-1': THIS, 'dp-2': THIS})
    for (const n of [1, 2]) {
      const h = await onHost(n)
      assert.equal(h.current, THIS, `h${n}'s current link`)
      assert.deepEqual(h.binaries, [`/opt/kctl/${THIS}/bin/node`], `h${n}'s gateway processes run the first bundle's Node`)
    }
    await assertUnitsFollow()
  })

  it('a supervisor systemd starts again (killed, as by the OOM killer) is followed: nodes and status show it, stop stops its unit', async () => {
    const before = await unitOf('dp-1')
    await bed.exec('h2', `kill -KILL ${before.mainPid}`)
    // Restart=on-failure, RestartSec=2: a new supervisor, which names itself in supervisor.pid
    await until('systemd to start dp-1 again', async () => {
      const u = await unitOf('dp-1').catch(() => undefined)
      return u !== undefined && u.state === 'active/running' && u.mainPid !== before.mainPid && u.pidFile === u.mainPid
    }, {timeoutMs: 60_000})
    const now = await unitOf('dp-1')
    assert.equal(now.restarts, before.restarts + 1, 'systemd restarted the unit once')
    const nodes = await sb.kctl('nodes', '--json')
    assert.equal(nodes.code, 0, nodes.stderr)
    const row = JSON.parse(nodes.stdout).nodes.find((n: {name: string}) => n.name === 'dp-1')
    assert.equal(row.state, 'running', 'dp-1 is up, in its new process')
    assert.equal(row.pid, now.mainPid, "kctl follows the unit's new main process")
    await until('dp-1 to serve again', async () => (await fetch(`http://${addr(2)}:8000/hello`).catch(() => undefined))?.status === 200, {timeoutMs: 60_000})
    const stop = await sb.kctl('stop', 'dp-1', '--json')
    assert.equal(stop.code, 0, `${stop.stdout}\n${stop.stderr}`)
    assert.match((await unitOf('dp-1').catch(() => ({state: 'gone'}))).state, /^(inactive|gone)/, "stop stops the unit's new process")
    assert.equal((await bed.exec('h2', `ps -o pid= -p ${now.mainPid}; true`)).stdout.trim(), '', 'the new supervisor is gone')
  })

  it('destroy removes both bundles from every host', async () => {
    const r = await sb.kctl('destroy', '--yes', '--json')
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    for (const n of [1, 2]) assert.equal((await bed.exec(`h${n}`, 'ls -A /opt/kctl 2>/dev/null; true')).stdout.trim(), '', `nothing left in /opt/kctl on h${n}`)
    assert.deepEqual(await processesMentioning(sb.dir), [])
  })
})
