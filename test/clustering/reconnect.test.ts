/**
 * Data planes are back promptly when their control plane returns: while the CP's port
 * refuses, a DP retries about every second instead of backing off towards 10 s, so after
 * an outage of 8 refused attempts (a backoff would be at several seconds by then) every DP
 * is connected and in sync within ~1.5 s of the CP being ready, and the next change
 * reaches them as fast as before the outage.
 */
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {clusterBed, freshDatabase, spawnDataPlane, spawnNode, startControlPlane} from '../helpers/nodes.js'
import {until} from '../helpers/until.js'

const bed = clusterBed('kctl-reconnect-')
const shared = {cluster_cert: bed.certFile, cluster_cert_key: bed.keyFile}

const statusOf = async (base: string) =>
  (await (await fetch(`${base}/status`)).json()) as {configuration_hash: string; connected_data_planes?: number; control_plane?: {connected: boolean; failed_attempts: number}}
const post = async (url: string, body: unknown) => {
  const r = await fetch(url, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(body)})
  assert.equal(r.status, 201, await r.text())
}

/** Limit for "promptly" on a loaded 2-core machine: retries come every 0.5–1 s, the rest is a handshake and a push. */
const BACK_WITHIN_MS = 2500

describe('data planes reconnect promptly to a returning control plane', () => {
  test('after 8 refused attempts, every DP is connected and in sync within ~1.5 s of the CP being ready', async () => {
    const cp = await startControlPlane(bed.dir, bed.pg, await freshDatabase(bed.pg, 'reconnect'), shared)
    const dps = [await spawnDataPlane(bed.dir, cp.cluster, shared), await spawnDataPlane(bed.dir, cp.cluster, shared)]
    await Promise.all(dps.map((d) => d.node.waitReady()))
    await post(`${cp.admin}/services`, {name: 's', url: bed.upstreamUrl})
    await post(`${cp.admin}/services/s/routes`, {paths: ['/before']})
    for (const dp of dps) await until('served before the outage', async () => (await fetch(`${dp.proxy}/before`)).status, {ok: (v) => v === 200})

    for (const dp of dps) assert.deepEqual((await statusOf(dp.status)).control_plane?.failed_attempts, 0, 'no failed attempt while connected')
    await cp.node.stop()
    for (const dp of dps) await dp.node.waitOutput(/could not connect to control plane 127\.0\.0\.1:\d+: connection refused \(retrying every ~1s\)/)
    // The outage lasts until every DP was refused 8 times in a row (its /status counts the
    // attempts): long enough for an exponential backoff to have grown to several seconds.
    for (const dp of dps) await until('8 refused attempts', async () => (await statusOf(dp.status)).control_plane?.failed_attempts ?? 0, {ok: (n) => n >= 8})

    const again = spawnNode(bed.dir, cp.values, {status: cp.status})
    await again.waitReady()
    const readyAt = performance.now()
    await until('every DP connected to the returning CP', async () => (await statusOf(cp.status)).connected_data_planes, {ok: (v) => v === dps.length})
    const cpHash = (await statusOf(cp.status)).configuration_hash
    for (const dp of dps) assert.equal((await statusOf(dp.status)).configuration_hash, cpHash)
    const back = performance.now() - readyAt
    assert.ok(back < BACK_WITHIN_MS, `DPs connected ${Math.round(back)} ms after the CP was ready`)

    const changedAt = performance.now()
    await post(`${cp.admin}/services/s/routes`, {paths: ['/after']})
    for (const dp of dps) await until('the change reaches the DP', async () => (await fetch(`${dp.proxy}/after`)).status, {ok: (v) => v === 200})
    const reached = performance.now() - changedAt
    assert.ok(reached < BACK_WITHIN_MS, `the change reached the DPs after ${Math.round(reached)} ms`)
    await Promise.all([again.stop(), ...dps.map((d) => d.node.stop())])
  })
})
