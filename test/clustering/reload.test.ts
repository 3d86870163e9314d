/**
 * Reloads in hybrid mode with real processes: a data plane reloaded under load serves
 * from its cache at once (0 failed requests) and reconnects to the control plane; a
 * control plane reloaded keeps its data planes fed.
 */
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {isAlive} from '../../src/kit/process.js'
import {clusterBed, freshDatabase, spawnDataPlane, startControlPlane, type NodeProcess} from '../helpers/nodes.js'
import {failures, startLoad} from '../helpers/load.js'
import {signalSupervisor} from '../helpers/supervision.js'
import {until} from '../helpers/until.js'

const bed = clusterBed('kctl-reload-hybrid-')

describe('reload in hybrid mode', () => {
  test('a data plane and then its control plane reload under load: 0 failed requests, the DP is back on the CP', async () => {
    const tls = {cluster_cert: bed.certFile, cluster_cert_key: bed.keyFile}
    const cp = await startControlPlane(bed.dir, bed.pg, await freshDatabase(bed.pg, 'reload_hybrid'), tls)
    const dp = await spawnDataPlane(bed.dir, cp.cluster, tls)
    await dp.node.waitReady()
    const post = (path: string, body: unknown) => fetch(`${cp.admin}${path}`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(body)})
    assert.equal((await post('/services', {name: 'up', url: bed.upstreamUrl})).status, 201)
    assert.equal((await post('/services/up/routes', {paths: ['/r']})).status, 201)
    await until('the DP to serve the route', async () => ((await fetch(`${dp.proxy}/r`)).status === 200 ? true : undefined))

    const load = startLoad(`${dp.proxy}/r`, 8)
    const before = await dp.node.servingPid()
    const r = await signalSupervisor(dp.node.prefix, dp.node.proc.pid!, 'SIGHUP')
    assert.equal(r.last_reload?.ok, true, r.last_reload?.error ?? '')
    const cpBefore = await cp.node.servingPid()
    const rc = await signalSupervisor(cp.node.prefix, cp.node.proc.pid!, 'SIGHUP')
    assert.equal(rc.last_reload?.ok, true, rc.last_reload?.error ?? '')
    await until('the old DP serving process to exit', () => (isAlive(before) ? undefined : true))
    await until('the old CP serving process to exit', () => (isAlive(cpBefore) ? undefined : true))
    // a change made after both reloads reaches the DP through the new processes
    assert.equal((await post('/services/up/routes', {paths: ['/after']})).status, 201)
    await until('the DP to serve the new route', async () => ((await fetch(`${dp.proxy}/after`)).status === 200 ? true : undefined))
    const shots = await load.stop()
    assert.ok(shots.length > 50, `${shots.length} requests`)
    assert.deepEqual(failures(shots), {}, `${shots.length} requests through the DP, none may fail`)
    const list = await (await fetch(`${cp.admin}/clustering/data-planes`)).json()
    assert.equal(list.data.length, 1, 'one DP row (the same node id before and after)')
  })
})
