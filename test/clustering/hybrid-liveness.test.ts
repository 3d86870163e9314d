/**
 * Hybrid mode under stress, with real processes, real TLS and a real Postgres: a control
 * plane that goes silent (SIGSTOP), a pki-mode data plane whose certificate the cluster CA
 * did not sign, and a burst of Admin API writes reaching a data plane as a few pushes.
 */
import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {issueCertificate} from '../../src/pki/index.js'
import {makeCa} from '../helpers/certs.js'
import {until} from '../helpers/until.js'
import {clusterBed, type DataPlaneNode, freshDatabase, rawDataPlane, spawnDataPlane, startControlPlane} from '../helpers/nodes.js'

const bed = clusterBed('kctl-hybrid-liveness-')
const {dir, certFile, keyFile} = bed
const shared = {cluster_cert: certFile, cluster_cert_key: keyFile}
/** A control plane this file stopped with SIGSTOP and has not resumed yet. */
let stoppedPid: number | undefined

const post = async (url: string, body: unknown) => {
  const r = await fetch(url, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(body)})
  assert.equal(r.status, 201, await r.text())
}
const statusOf = async (base: string) => (await (await fetch(`${base}/status`)).json()) as {configuration_hash: string; sync?: {deltas_sent: number; full_syncs_sent: number}}
const served = (dp: DataPlaneNode, path: string) => until(`${dp.proxy}${path} proxied`, async () => (await fetch(dp.proxy + path)).status, {ok: (v) => v === 200})
const count = (text: string, re: RegExp) => text.match(new RegExp(re.source, 'g'))?.length ?? 0

function resume(): void {
  if (stoppedPid === undefined) return
  try {
    process.kill(stoppedPid, 'SIGCONT')
  } catch {
    /* already ended */
  }
  stoppedPid = undefined
}
after(resume)

describe('hybrid liveness and refusals', () => {
  // Interval 2 s: Kong's PING_WAIT is 1.5 intervals (3 s) after the last pong, which came
  // before SIGSTOP, so the drop comes 1–3 s after it; a check made only on ping ticks
  // drops the CP 3–5 s after its last pong.
  test('a control plane that stops answering is dropped after 1.5 ping intervals; the DP keeps serving, then reconnects', async () => {
    const interval = {cluster_ping_interval: 2}
    const cp = await startControlPlane(dir, bed.pg, await freshDatabase(bed.pg, 'liveness_silent_cp'), {...shared, ...interval})
    const dp = await spawnDataPlane(dir, cp.cluster, {...shared, ...interval})
    await dp.node.waitReady()
    await post(`${cp.admin}/services`, {name: 's', url: bed.upstreamUrl})
    await post(`${cp.admin}/services/s/routes`, {paths: ['/s']})
    await served(dp, '/s')

    const pid = await cp.node.servingPid() // the process that answers (its supervisor answers nothing)
    process.kill(pid, 'SIGSTOP')
    stoppedPid = pid
    const stoppedAt = Date.now()
    try {
      await dp.node.waitOutput(/no pong from control plane for 3s; reconnecting/, 10_000)
      const waited = Date.now() - stoppedAt
      assert.ok(waited >= 900 && waited <= 3500, `dropped ${waited} ms after the CP stopped (expected 1–3 s)`)
      await dp.node.waitOutput(/disconnected from control plane/)
      assert.equal(await (await fetch(`${dp.proxy}/s/x`)).text(), 'upstream /x', 'served from its configuration while the CP is silent')
      assert.equal((await fetch(`${dp.status}/status/ready`)).status, 200)
    } finally {
      resume()
    }

    await until('the DP reconnects to the resumed CP', async () => count(dp.node.output(), /\bconnected to control plane/), {ok: (v) => v >= 2})
    await post(`${cp.admin}/services/s/routes`, {paths: ['/after']})
    await served(dp, '/after')
    assert.equal((await statusOf(dp.status)).configuration_hash, (await statusOf(cp.status)).configuration_hash)
    await Promise.all([cp.node.stop(), dp.node.stop()])
  })

  test('pki: a data plane whose certificate the cluster CA did not sign is refused and gets no configuration', async () => {
    const ca = await makeCa()
    const rogueCa = await makeCa()
    const sans = ['localhost', '127.0.0.1']
    const files: Record<string, {cert: string; key: string}> = {
      ca: ca,
      cp: await issueCertificate(ca, {commonName: 'cp-1', sans, usage: 'server', days: 1}),
      dp: await issueCertificate(ca, {commonName: 'dp-1', sans, usage: 'client', days: 1}),
      rogue: await issueCertificate(rogueCa, {commonName: 'dp-2', sans, usage: 'client', days: 1}),
    }
    for (const [name, pair] of Object.entries(files)) {
      writeFileSync(join(dir, `pki-${name}.crt`), pair.cert)
      writeFileSync(join(dir, `pki-${name}.key`), pair.key, {mode: 0o600})
    }
    const pki = (name: string) => ({cluster_mtls: 'pki', cluster_ca_cert: join(dir, 'pki-ca.crt'), cluster_cert: join(dir, `pki-${name}.crt`), cluster_cert_key: join(dir, `pki-${name}.key`)})
    const cp = await startControlPlane(dir, bed.pg, await freshDatabase(bed.pg, 'liveness_pki'), pki('cp'))
    await post(`${cp.admin}/services`, {name: 's', url: bed.upstreamUrl})

    // The same setup with a CA-signed certificate is served: the refusal below is the certificate's.
    const good = await spawnDataPlane(dir, cp.cluster, pki('dp'))
    await good.node.waitReady()
    const rogue = await spawnDataPlane(dir, cp.cluster, pki('rogue'))
    await cp.node.waitOutput(/data plane [0-9a-f-]{36} from 127\.0\.0\.1 rejected: the certificate presented does not verify against cluster_ca_cert: [A-Z_]+/)
    await rogue.node.waitOutput(/could not connect to control plane/)

    const ready = await fetch(`${rogue.status}/status/ready`)
    assert.equal(ready.status, 503)
    assert.deepEqual(await ready.json(), {message: 'no configuration available (empty configuration present)'})
    assert.equal((await statusOf(rogue.status)).configuration_hash, '00000000000000000000000000000000')
    assert.doesNotMatch(rogue.node.output(), /connected to control plane|applied/)
    const rows = (await (await fetch(`${cp.admin}/clustering/data-planes`)).json()).data as {id: string}[]
    assert.deepEqual(rows.map((r) => r.id), [readFileSync(join(good.node.prefix, 'kong.id'), 'utf8').trim()], 'only the CA-signed DP is recorded')
    await Promise.all([cp.node.stop(), good.node.stop(), rogue.node.stop()])
  })

  test('20 concurrent Admin API writes: a DP on whole configurations gets a few pushes, a DP on deltas at most one per write; both end on the final hash', async () => {
    const cp = await startControlPlane(dir, bed.pg, await freshDatabase(bed.pg, 'liveness_burst'), shared)
    const dp = await spawnDataPlane(dir, cp.cluster, shared)
    await dp.node.waitReady()
    const recorder = rawDataPlane(cp.cluster, {cert: readFileSync(certFile), key: readFileSync(keyFile)})
    try {
      await until('the recorder receives the current configuration', async () => recorder.frames.length, {ok: (v) => v === 1})
      const appliedBefore = count(dp.node.output(), /configuration [0-9a-f]{32} applied/)
      const deltasBefore = (await statusOf(cp.status)).sync!.deltas_sent

      await Promise.all(Array.from({length: 20}, (_, i) => post(`${cp.admin}/services`, {name: `burst-${i}`, url: bed.upstreamUrl})))
      const final = (await statusOf(cp.status)).configuration_hash
      await until('the recorder receives the final configuration', async () => recorder.frames.at(-1)?.config_hash, {ok: (v) => v === final})
      await until('the DP serves the final configuration', async () => (await statusOf(dp.status)).configuration_hash, {ok: (v) => v === final})
      assert.equal((recorder.frames.at(-1)!.config_table.services as unknown[]).length, 20)

      const pushes = recorder.frames.length - 1
      const applied = count(dp.node.output(), /configuration [0-9a-f]{32} applied/) - appliedBefore
      // whole configurations: at most one per 200 ms to a DP, each carrying every write made meanwhile
      assert.ok(pushes >= 1 && pushes <= 8, `20 writes became ${pushes} pushes`)
      // deltas are never held back, and writes that land together go as one; the DP applies at most each
      const deltas = (await statusOf(cp.status)).sync!.deltas_sent - deltasBefore
      assert.ok(deltas >= 1 && deltas <= 20, `20 writes became ${deltas} deltas`)
      assert.ok(applied >= 1 && applied <= deltas, `the DP applied ${applied} configurations for ${deltas} deltas`)
      assert.equal(new Set(recorder.frames.map((f) => f.config_hash)).size, recorder.frames.length, 'no configuration is pushed twice')
    } finally {
      recorder.close()
    }
    await Promise.all([cp.node.stop(), dp.node.stop()])
  })
})
