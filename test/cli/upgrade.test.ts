/**
 * `kctl upgrade` between two builds of kctl: a hybrid cluster made by this build, then a
 * second build (this one copied with another version string) upgrades it under a load
 * spread over every data plane, and `--rollback` brings it back: 0 failed requests, every
 * node on the version asked for. Also: an online upgrade across a migration that is not
 * backward compatible is refused, naming it, with nothing changed; an upgrade with
 * nothing to do says so; with the nodes stopped, the same upgrade runs (offline) and the
 * nodes start on the new version.
 */
import assert from 'node:assert/strict'
import {cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {isAlive} from '../../src/kit/process.js'
import {silentReporter} from '../../src/kit/output.js'
import {runtimeSourceAt} from '../../src/cluster/runtime-install.js'
import {MIGRATIONS, pendingMigrations, type Migration} from '../../src/runtime/db/migrations.js'
import {upgrade} from '../../src/services/upgrade.js'
import {create} from '../helpers/http.js'
import {ROOT, runKctl, type KctlRun} from '../helpers/kctl.js'
import {failures, startLoad} from '../helpers/load.js'
import {startServingCluster, type ServingCluster} from '../helpers/nodes.js'
import {until} from '../helpers/until.js'

const THIS = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string
const NEXT = `${THIS}-next.1`

/** This build copied to `dir` with package.json (and the manifest) saying `version`: a second kctl. */
function secondBuild(dir: string, version: string): string {
  mkdirSync(dir, {recursive: true})
  for (const part of ['bin', 'templates', join('dist', 'src')]) cpSync(join(ROOT, part), join(dir, part), {recursive: true})
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  writeFileSync(join(dir, 'package.json'), JSON.stringify({...pkg, version}, null, 2))
  const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8'))
  writeFileSync(join(dir, 'oclif.manifest.json'), JSON.stringify({...manifest, version}))
  return dir
}

interface NodeRow {
  name: string
  pid: number | null
  state: string
  kctl_version: string | null
}

describe('kctl upgrade and --rollback between two builds (hybrid, 3 data planes)', () => {
  let c: ServingCluster
  let next: string
  const nextKctl = (...args: string[]): Promise<KctlRun> => runKctl(args, {cwd: c.cwd, env: {KCTL_DATA_DIR: c.dataDir}, bin: join(next, 'bin', 'run.js')})
  const nodes = async (): Promise<NodeRow[]> => {
    const r = await c.kctl('nodes', '--json') // records the pids for cleanup too
    assert.equal(r.code, 0, r.stderr)
    return JSON.parse(r.stdout).nodes
  }
  const statusVersion = async (url: string): Promise<string> => (await (await fetch(`${url}/status`)).json()).kctl_version
  const statusUrls = () => Object.values(c.state().nodes).map((n) => `http://${n.listen.status}`)

  before(async () => {
    c = await startServingCluster({mode: 'hybrid', name: 'up', dataPlanes: 3})
    next = secondBuild(join(c.sandbox.dir, 'kctl-next'), NEXT)
  })
  after(async () => {
    await c?.cleanup()
  })

  it('every node reports the version of the build that started it', async () => {
    for (const url of statusUrls()) assert.equal(await statusVersion(url), THIS, url)
    assert.deepEqual((await nodes()).map((n) => [n.name, n.kctl_version]), [['postgres', null], ['cp-1', THIS], ['dp-1', THIS], ['dp-2', THIS], ['dp-3', THIS]])
  })

  it('an online upgrade across a migration old nodes cannot work with is refused, naming it; nothing changes', async () => {
    const breaking: Migration = {name: '900_drop_services_tags', compatible: false, up: () => ['ALTER TABLE services DROP COLUMN tags']}
    const list = [...MIGRATIONS, {name: '899_add_index', compatible: true, up: () => ['CREATE INDEX IF NOT EXISTS services_name_idx ON services (name)']}, breaking]
    const before = await nodes()
    await assert.rejects(
      upgrade({specPath: join(c.cwd, 'kctl.yaml'), stateRoot: c.dataDir, report: silentReporter, source: runtimeSourceAt(next), migrations: list}),
      (err: Error & {code?: string; hint?: string}) => {
        assert.equal(err.code, 'UPGRADE_REFUSED')
        assert.match(err.message, /migration 900_drop_services_tags is not backward compatible/)
        assert.match(err.message, /cp-1, dp-1, dp-2, dp-3 still run/)
        assert.match(err.message, /Nothing was changed/)
        assert.match(err.hint ?? '', /kctl stop/)
        return true
      },
    )
    const conn = c.state().connection
    assert.deepEqual(await pendingMigrations(conn, list), ['899_add_index', '900_drop_services_tags'], 'no migration ran, not even the compatible one')
    assert.deepEqual(await nodes(), before, 'every node runs the same process on the same version')
  })

  it('upgrade by the second build under a load over every DP: 0 failed requests, every node on the new version, the old processes gone', async () => {
    const before = await nodes()
    const loads = c.proxies.map((p) => startLoad(`${p}/s/load`, 4))
    const r = await nextKctl('upgrade', '--json')
    const shots = (await Promise.all(loads.map((l) => l.stop()))).flat()
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    assert.deepEqual(JSON.parse(r.stdout), {cluster: 'up', rollback: false, to: NEXT, migrations: [], upgraded: ['cp-1', 'dp-1', 'dp-2', 'dp-3'], not_running: [], unchanged: []})
    assert.ok(shots.length > 100, `${shots.length} requests`)
    assert.deepEqual(failures(shots), {}, `${shots.length} requests over ${c.proxies.length} DPs, none may fail`)
    for (const url of statusUrls()) assert.equal(await statusVersion(url), NEXT, url)
    const after = await nodes()
    assert.deepEqual(after.map((n) => [n.name, n.state, n.kctl_version]), [['postgres', 'running', null], ['cp-1', 'running', NEXT], ['dp-1', 'running', NEXT], ['dp-2', 'running', NEXT], ['dp-3', 'running', NEXT]])
    for (const i of [1, 2, 3, 4]) assert.ok(!isAlive(before[i].pid!), `${before[i].name}'s old process tree is gone`)
    // the nodes run the installed copy, not this build's files
    const entry = readFileSync(join(c.state().nodes['dp-1'].prefix, 'runtime.entry'), 'utf8').trim()
    assert.equal(entry, join(c.dataDir, 'clusters', 'up', 'runtime', NEXT, 'dist', 'src', 'runtime', 'main.js'))
    assert.deepEqual(c.state().nodes['dp-1'].runtime, {version: NEXT, previous: THIS})
    // a change after the upgrade reaches every DP
    await create(`${c.admin}/services/s/routes`, {'paths[]': '/after-upgrade'})
    for (const p of c.proxies) await until(`${p} serves the new route`, async () => (await fetch(`${p}/after-upgrade`)).status === 200)
  })

  it('upgrade again by the second build: nothing to do, and it says so', async () => {
    const r = await nextKctl('upgrade')
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, new RegExp(`Every node runs kctl ${NEXT.replace(/\./g, '\\.')}'s runtime and the database is up to date: nothing to upgrade`))
  })

  it('--rollback under the same load: 0 failed requests, every node back on the first version', async () => {
    const loads = c.proxies.map((p) => startLoad(`${p}/s/load`, 4))
    const r = await nextKctl('upgrade', '--rollback', '--json')
    const shots = (await Promise.all(loads.map((l) => l.stop()))).flat()
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    assert.deepEqual(JSON.parse(r.stdout), {cluster: 'up', rollback: true, to: THIS, migrations: [], upgraded: ['cp-1', 'dp-1', 'dp-2', 'dp-3'], not_running: [], unchanged: []})
    assert.ok(shots.length > 100, `${shots.length} requests`)
    assert.deepEqual(failures(shots), {}, `${shots.length} requests over ${c.proxies.length} DPs, none may fail`)
    for (const url of statusUrls()) assert.equal(await statusVersion(url), THIS, url)
    assert.deepEqual((await nodes()).slice(1).map((n) => n.kctl_version), [THIS, THIS, THIS, THIS])
    // this build has nothing to do on a cluster of its own version
    const same = await c.kctl('upgrade', '--json')
    assert.equal(same.code, 0, same.stderr)
    assert.deepEqual(JSON.parse(same.stdout), {cluster: 'up', rollback: false, to: THIS, migrations: [], upgraded: [], not_running: [], unchanged: ['cp-1', 'dp-1', 'dp-2', 'dp-3']})
  })

  it('offline, across a migration that is not backward compatible: with the nodes stopped it migrates and records them; kctl start starts them on the new version', async () => {
    assert.equal((await c.kctl('stop')).code, 0)
    assert.equal((await c.kctl('start', 'postgres')).code, 0)
    const list = [...MIGRATIONS, {name: '901_upgrade_probe', compatible: false, up: () => ['CREATE TABLE upgrade_probe (id int)']}]
    const r = await upgrade({specPath: join(c.cwd, 'kctl.yaml'), stateRoot: c.dataDir, report: silentReporter, source: runtimeSourceAt(next), migrations: list})
    assert.deepEqual(r, {cluster: 'up', rollback: false, to: NEXT, migrations: ['901_upgrade_probe'], upgraded: [], not_running: ['cp-1', 'dp-1', 'dp-2', 'dp-3'], unchanged: []})
    assert.deepEqual(await pendingMigrations(c.state().connection, list), [])
    const start = await nextKctl('start')
    assert.equal(start.code, 0, `${start.stdout}\n${start.stderr}`)
    for (const url of statusUrls()) assert.equal(await statusVersion(url), NEXT, url)
    assert.deepEqual((await nodes()).slice(1).map((n) => [n.state, n.kctl_version]), [['running', NEXT], ['running', NEXT], ['running', NEXT], ['running', NEXT]])
  })
})
