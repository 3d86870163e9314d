/**
 * A cluster is bound to the spec it was created from: another spec with the same
 * metadata.name (a copied folder, a second project) is refused by every command, and
 * the first cluster is left exactly as it was. Different names side by side both work.
 */
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {mkdir, readFile, rename, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {createSandbox, freePorts, runKctl, specYaml, type KctlRun, type Sandbox} from '../helpers/kctl.js'

interface NodesJson {
  nodes: {name: string; pid: number | null; state: string}[]
}

const form = (body: Record<string, string>) => ({method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'}, body: new URLSearchParams(body).toString()})

describe('a cluster belongs to its spec', () => {
  let sb: Sandbox
  let twin: string
  let other: string
  const firstSpec = () => join(sb.cwd, 'kctl.yaml')
  const inTwin = (...args: string[]): Promise<KctlRun> => runKctl(args, {cwd: twin, env: {KCTL_DATA_DIR: sb.dataDir}})
  const inOther = (...args: string[]): Promise<KctlRun> => runKctl(args, {cwd: other, env: {KCTL_DATA_DIR: sb.dataDir}})
  const nodesJson = async (): Promise<NodesJson> => {
    const r = await sb.kctl('nodes', '--json')
    assert.equal(r.code, 0, r.stderr)
    return JSON.parse(r.stdout)
  }

  before(async () => {
    sb = await createSandbox()
    await sb.writeSpec('twin')
    const r = await sb.kctl('init')
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    const s = await fetch(`http://127.0.0.1:${sb.ports.admin}/services`, form({name: 'kept', url: 'http://127.0.0.1:9'}))
    assert.equal(s.status, 201, await s.text())
    // Another folder whose spec has the same name (its own ports), and one with another name.
    twin = join(sb.dir, 'twin')
    other = join(sb.dir, 'other')
    await mkdir(twin)
    await mkdir(other)
    await writeFile(join(twin, 'kctl.yaml'), specYaml('twin', await freePorts()))
    await writeFile(join(other, 'kctl.yaml'), specYaml('other', await freePorts()))
  })
  after(async () => {
    await inOther('destroy', '--yes').catch(() => {})
    await sb?.cleanup()
  })

  it('status, nodes, stop, destroy --yes, start, logs, restart and init of the same name are refused, naming both specs', async () => {
    const before = await nodesJson()
    assert.deepEqual(before.nodes.map((n) => n.state), ['running', 'running'])
    for (const args of [['status'], ['nodes'], ['stop'], ['destroy', '--yes'], ['start'], ['logs', 'node-1'], ['restart', 'node-1'], ['stop', 'postgres'], ['init'], ['dump']]) {
      const r = await inTwin(...args)
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}\n${r.stderr}`)
      assert.ok(r.stderr.includes(firstSpec()), `${args.join(' ')} names the cluster's spec: ${r.stderr}`)
      assert.ok(r.stderr.includes(join(twin, 'kctl.yaml')), `${args.join(' ')} names this spec: ${r.stderr}`)
      assert.match(r.stderr, /metadata\.name/, args.join(' '))
    }
    const json = await inTwin('nodes', '--json')
    assert.equal(json.code, 1)
    assert.equal(JSON.parse(json.stdout).error.code, 'CLUSTER_SPEC_MISMATCH')
    // The first cluster is untouched: same processes, its data still there.
    assert.deepEqual(await nodesJson(), before)
    assert.ok(existsSync(join(sb.dataDir, 'clusters', 'twin', 'postgres', 'data', 'PG_VERSION')))
    const kept = await fetch(`http://127.0.0.1:${sb.ports.admin}/services/kept`)
    assert.equal(kept.status, 200)
  })

  it('two clusters with different names side by side both work', async () => {
    const up = await inOther('init')
    assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`)
    const nodes = await inOther('nodes', '--json')
    assert.equal(nodes.code, 0, nodes.stderr)
    for (const n of JSON.parse(nodes.stdout).nodes) sb.pids.add(n.pid)
    assert.deepEqual(JSON.parse(nodes.stdout).nodes.map((n: {state: string}) => n.state), ['running', 'running'])
    assert.deepEqual((await nodesJson()).nodes.map((n) => n.state), ['running', 'running'])
    const gone = await inOther('destroy', '--yes')
    assert.equal(gone.code, 0, gone.stderr)
    assert.deepEqual((await nodesJson()).nodes.map((n) => n.state), ['running', 'running'])
  })

  it('a state that records the spec by a symlinked path still belongs to it', async () => {
    const link = join(sb.dir, 'link')
    await symlink(sb.cwd, link)
    const file = join(sb.dataDir, 'clusters', 'twin', 'state.json')
    const state = JSON.parse(await readFile(file, 'utf8'))
    state.specPath = join(link, 'kctl.yaml')
    await writeFile(file, JSON.stringify(state))
    assert.deepEqual((await nodesJson()).nodes.map((n) => n.state), ['running', 'running'])
    const viaLink = await runKctl(['nodes'], {cwd: link, env: {KCTL_DATA_DIR: sb.dataDir}})
    assert.equal(viaLink.code, 0, viaLink.stderr)
  })

  it('a renamed spec is refused until `kctl init --adopt` binds the cluster to it', async () => {
    const before = await nodesJson()
    await rename(firstSpec(), join(sb.cwd, 'cluster.yaml'))
    const refused = await sb.kctl('status', '--spec', 'cluster.yaml')
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /is no longer there/)
    assert.match(refused.stderr, /kctl init --adopt/)
    const adopted = await sb.kctl('init', '--adopt', '--spec', 'cluster.yaml')
    assert.equal(adopted.code, 0, adopted.stderr)
    assert.match(adopted.stdout, /already running; nothing changed/)
    const nodes = await sb.kctl('nodes', '--json', '--spec', 'cluster.yaml')
    assert.equal(nodes.code, 0, nodes.stderr)
    assert.deepEqual(JSON.parse(nodes.stdout), before)
    await rename(join(sb.cwd, 'cluster.yaml'), firstSpec())
    const back = await sb.kctl('init', '--adopt')
    assert.equal(back.code, 0, back.stderr)
  })
})
