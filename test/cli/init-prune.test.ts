/**
 * `kctl init` after kctl.yaml was edited: a node added to the spec is started (in sync),
 * nodes taken out of it are named and left alone; `--prune` drains, stops and removes them
 * (a running one and one stopped before it was taken out), the control plane's list keeps
 * exactly the remaining data planes, and the others serve throughout.
 */
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {isAlive} from '../../src/kit/process.js'
import {findFreePort} from '../../src/kit/ports.js'
import {served} from '../helpers/http.js'
import {failures, startLoad} from '../helpers/load.js'
import {startServingCluster, type ServingCluster} from '../helpers/nodes.js'
import {until} from '../helpers/until.js'

describe('kctl init after editing the spec (--prune)', () => {
  let cluster: ServingCluster
  let dp4Proxy = ''
  const specFile = () => join(cluster.cwd, 'kctl.yaml')
  const listed = async () => ((await (await fetch(`${cluster.admin}/clustering/data-planes`)).json()).data as {id: string}[]).map((r) => r.id).sort()
  const nodeId = (name: string) => readFile(join(cluster.dataDir, 'clusters', cluster.name, 'nodes', name, 'kong.id'), 'utf8').then((t) => t.trim())

  before(async () => {
    cluster = await startServingCluster({mode: 'hybrid', name: 'prune', dataPlanes: 3})
  })
  after(async () => {
    await cluster?.cleanup()
  })

  it('without --prune: the added node starts, the removed ones are named and keep their state', async () => {
    const stop = await cluster.kctl('stop', 'dp-2')
    assert.equal(stop.code, 0, stop.stderr)
    const [proxy, status] = [await findFreePort(), await findFreePort()]
    dp4Proxy = `http://127.0.0.1:${proxy}`
    const text = (await readFile(specFile(), 'utf8')).split('\n').filter((l) => !/name: dp-[23],/.test(l))
    text.splice(text.length - 1, 0, `    - {name: dp-4, role: data_plane, proxy_listen: "127.0.0.1:${proxy}", status_listen: "127.0.0.1:${status}"}`)
    await writeFile(specFile(), text.join('\n'))
    const dp3Pid = cluster.pid('dp-3')!

    const r = await cluster.kctl('init', '--json')
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    const out = JSON.parse(r.stdout)
    assert.deepEqual([out.already_running, out.removed, out.not_in_spec.sort()], [false, [], ['dp-2', 'dp-3']])
    assert.match(r.stderr, /dp-\d, dp-\d are no longer in .*kctl\.yaml but were left as they are: `kctl init --prune` drains, stops and removes them/)
    assert.equal(JSON.parse(await served(`${dp4Proxy}/s/new`)).path, '/new', 'dp-4 serves the configuration')
    assert.ok(isAlive(dp3Pid), 'dp-3 still runs')
    const rows = await until('the CP lists dp-4', async () => ((await listed()).includes(await nodeId('dp-4')) ? listed() : null))
    assert.equal(rows.length, 4, 'dp-1, dp-2 (stopped, its row not expired), dp-3, dp-4')
  })

  it('--prune: dp-3 drains and stops, dp-2\'s files and both rows go, dp-1 and dp-4 serve throughout', async () => {
    const dp3Pid = cluster.pid('dp-3')!
    const dry = await cluster.kctl('init', '--prune', '--dry-run', '--json')
    assert.equal(dry.code, 0, dry.stderr)
    const prunePhase = JSON.parse(dry.stdout).plan.find((p: {title: string}) => p.title === 'Prune')
    assert.deepEqual(prunePhase.actions.map((a: string) => a.split(' ')[1]).sort(), ['dp-2', 'dp-3'], '--dry-run names what --prune removes')
    assert.ok(isAlive(dp3Pid) && existsSync(join(cluster.dataDir, 'clusters', cluster.name, 'nodes', 'dp-2')), '--dry-run changes nothing')
    const keep = [await nodeId('dp-1'), await nodeId('dp-4')].sort()
    const loads = [cluster.proxies[0], dp4Proxy].map((p) => startLoad(`${p}/s/load`, 3))
    const r = await cluster.kctl('init', '--prune', '--json')
    const shots = (await Promise.all(loads.map((l) => l.stop()))).flat()
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    const out = JSON.parse(r.stdout)
    assert.deepEqual([out.removed.sort(), out.not_in_spec], [['dp-2', 'dp-3'], []])
    assert.deepEqual(failures(shots), {}, `${shots.length} requests to dp-1 and dp-4 while dp-2 and dp-3 were removed`)
    assert.ok(!isAlive(dp3Pid), 'dp-3 stopped')
    for (const n of ['dp-2', 'dp-3']) {
      assert.ok(!existsSync(join(cluster.dataDir, 'clusters', cluster.name, 'nodes', n)), `${n}'s files are gone`)
      assert.equal(cluster.state().nodes[n], undefined)
    }
    assert.deepEqual(await listed(), keep, 'the CP lists exactly dp-1 and dp-4')

    const again = await cluster.kctl('init', '--json')
    assert.equal(again.code, 0, again.stderr)
    assert.deepEqual([JSON.parse(again.stdout).already_running, JSON.parse(again.stdout).not_in_spec], [true, []])
    assert.doesNotMatch(again.stderr, /no longer in/)
  })
})
