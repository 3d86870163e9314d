/**
 * Control-plane failover with real processes: two control planes on one database, three
 * data planes given both (`cluster_control_plane = a, b`). The control plane the data
 * planes use is SIGKILLed under a proxy load: they move to the other within two ping
 * intervals, every control plane lists every data plane, a change made on the survivor
 * reaches them all, and no proxy request fails.
 */
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {failures, startLoad} from '../helpers/load.js'
import {clusterBed, freshDatabase, spawnDataPlane, startControlPlane, type DataPlaneNode} from '../helpers/nodes.js'
import {until} from '../helpers/until.js'

const bed = clusterBed('kctl-failover-')
const PING_S = 3

const controlPlaneOf = async (dp: DataPlaneNode) => {
  const s = await (await fetch(`${dp.status}/status`)).json()
  return s.control_plane as {connected: boolean; address: string; failed_attempts: number}
}
const listed = async (admin: string) => ((await (await fetch(`${admin}/clustering/data-planes`)).json()).data as unknown[]).length

describe('control-plane failover', () => {
  test('the CP the DPs use is SIGKILLed: they move to the other within 2 ping intervals, 0 failed proxy requests, a change on the survivor reaches all', async () => {
    const database = await freshDatabase(bed.pg, 'failover')
    const tls = {cluster_cert: bed.certFile, cluster_cert_key: bed.keyFile, cluster_ping_interval: PING_S}
    const a = await startControlPlane(bed.dir, bed.pg, database, tls)
    const b = await startControlPlane(bed.dir, bed.pg, database, tls)
    const list = `127.0.0.1:${a.cluster}, 127.0.0.1:${b.cluster}`
    const dps = await Promise.all([1, 2, 3].map(() => spawnDataPlane(bed.dir, a.cluster, {...tls, cluster_control_plane: list})))
    for (const dp of dps) await dp.node.waitReady()
    const post = (admin: string, path: string, body: unknown) => fetch(`${admin}${path}`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(body)})
    assert.equal((await post(a.admin, '/services', {name: 'up', url: bed.upstreamUrl})).status, 201)
    assert.equal((await post(a.admin, '/services/up/routes', {paths: ['/r']})).status, 201)
    for (const dp of dps) await until('every DP serves the route', async () => ((await fetch(`${dp.proxy}/r`)).status === 200 ? true : undefined))
    for (const dp of dps) assert.deepEqual(await controlPlaneOf(dp), {connected: true, address: `127.0.0.1:${a.cluster}`, failed_attempts: 0}, 'the first in the list')
    for (const cp of [a, b]) await until('every CP lists every DP', async () => ((await listed(cp.admin)) === 3 ? true : undefined))

    const loads = dps.map((dp) => startLoad(`${dp.proxy}/r`, 2))
    await until('the load under way on every DP', () => loads.every((l) => l.done() >= 10))
    const killedAt = Date.now()
    a.node.proc.kill('SIGKILL')
    const moved = await Promise.all(
      dps.map((dp) => until('the DP on the other CP', async () => {
        const cp = await controlPlaneOf(dp)
        return cp.connected && cp.address === `127.0.0.1:${b.cluster}` ? Date.now() - killedAt : undefined
      })),
    )
    console.log(`data planes on the other control plane ${moved.join(', ')} ms after the kill (ping interval ${PING_S} s)`)
    for (const ms of moved) assert.ok(ms < 2 * PING_S * 1000, `moved after ${ms} ms`)

    assert.equal((await post(b.admin, '/services/up/routes', {paths: ['/after']})).status, 201)
    for (const dp of dps) await until('the change made on the survivor reaches every DP', async () => ((await fetch(`${dp.proxy}/after`)).status === 200 ? true : undefined))
    const shots = (await Promise.all(loads.map((l) => l.stop()))).flat()
    assert.ok(shots.length > 20, `${shots.length} requests`)
    assert.deepEqual(failures(shots), {}, `${shots.length} proxy requests, none may fail`)
    assert.equal(await listed(b.admin), 3, 'the survivor lists every DP')
  })
})
