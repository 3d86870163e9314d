/**
 * `kctl certs rotate` under a load spread over both data planes, in shared and in pki mode:
 * no request fails, the control plane never refuses a data plane (its log), every data plane
 * presents the new certificate at the end (its /status and the control plane's log), and
 * `kctl status` shows the new expiry.
 */
import assert from 'node:assert/strict'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {fingerprintSha256} from '../../src/pki/index.js'
import {create} from '../helpers/http.js'
import {failures, startLoad} from '../helpers/load.js'
import {startServingCluster, type ServingCluster} from '../helpers/nodes.js'
import {until} from '../helpers/until.js'

const DAY = 86_400

interface DpRow {
  node: string
  cert_expiry: number | null
}

async function statusJson(cluster: ServingCluster): Promise<{data_planes: DpRow[]}> {
  const r = await cluster.kctl('status', '--json')
  return JSON.parse(r.stdout)
}

/** The colon form node's TLS uses in the log (`AB:CD:…`). */
const colons = (hex: string) => hex.toUpperCase().match(/../g)!.join(':')

for (const mtls of ['shared', 'pki'] as const) {
  describe(`kctl certs rotate (mtls ${mtls})`, () => {
    let cluster: ServingCluster

    before(async () => {
      cluster = await startServingCluster({mode: 'hybrid', name: `rot-${mtls}`, dataPlanes: 2, certificates: {mtls}})
    })
    after(async () => {
      await cluster?.cleanup()
    })

    it('rolls new certificates out with 0 failed requests; no data plane is refused; each presents the new one; status shows the new expiry', async () => {
      const certs = join(cluster.dataDir, 'clusters', cluster.name, 'certs')
      const now = Date.now() / 1000
      const before = await until('the CP knows both DPs with their certificate expiry', async () => {
        const s = await statusJson(cluster)
        return s.data_planes.length === 2 && s.data_planes.every((d) => d.cert_expiry) ? s : null
      })
      for (const d of before.data_planes) assert.ok(Math.abs(d.cert_expiry! - (now + 1095 * DAY)) < 2 * DAY, `${d.node}: 1095 days before`)

      const loads = cluster.proxies.map((p) => startLoad(`${p}/s/load`, 4))
      const r = await cluster.kctl('certs', 'rotate', '--days', '30', '--json')
      const shots = (await Promise.all(loads.map((l) => l.stop()))).flat()
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
      const result = JSON.parse(r.stdout)
      assert.equal(result.mtls, mtls)
      assert.deepEqual(result.reloaded, ['cp-1', 'dp-1', 'dp-2'])
      assert.deepEqual(result.not_running, [])
      assert.notEqual(result.current.fingerprint_sha256, result.previous.fingerprint_sha256)
      assert.ok(shots.length > 100, `${shots.length} requests`)
      assert.deepEqual(failures(shots), {}, `${shots.length} requests over both DPs during the rotation, none may fail`)

      // the files in place are the new ones; the rollout's leftovers are gone
      const top = readFileSync(join(certs, mtls === 'pki' ? 'ca.crt' : 'cluster.crt'), 'utf8')
      assert.equal(fingerprintSha256(top), result.current.fingerprint_sha256)
      assert.ok(!existsSync(join(certs, 'next')) && !existsSync(join(certs, 'rotation-trust.pem')))
      assert.equal(cluster.state().certRotation, undefined)

      const cpLog = readFileSync(cluster.state().nodes['cp-1'].logFile, 'utf8')
      assert.doesNotMatch(cpLog, /rejected/, 'the CP never refused a data plane')
      for (const dp of ['dp-1', 'dp-2']) {
        const node = cluster.state().nodes[dp]
        const own = fingerprintSha256(readFileSync(join(certs, mtls === 'pki' ? `${dp}.crt` : 'cluster.crt'), 'utf8'))
        const st = await (await fetch(`http://${node.listen.status}/status`)).json()
        assert.equal(st.cluster_certificate.fingerprint_sha256, own, `${dp} presents the new certificate`)
        assert.equal(st.control_plane.connected, true)
        assert.match(cpLog, new RegExp(`certificate SHA-256 ${colons(own)}`), `the CP saw ${dp}'s new certificate`)
        const conf = readFileSync(node.confPath, 'utf8')
        assert.doesNotMatch(conf, /kctl_cluster_pinned_certs|rotation-trust/, `${dp} trusts only the new certificate`)
        assert.doesNotMatch(readFileSync(node.logFile, 'utf8'), /refusing control plane/, `${dp} never refused its control plane`)
      }
      assert.doesNotMatch(readFileSync(cluster.state().nodes['cp-1'].confPath, 'utf8'), /kctl_cluster_pinned_certs|rotation-trust/)

      const after = await until('kctl status shows the new expiry for both DPs', async () => {
        const s = await statusJson(cluster)
        return s.data_planes.length === 2 && s.data_planes.every((d) => d.cert_expiry && Math.abs(d.cert_expiry - (now + 30 * DAY)) < 2 * DAY) ? s : null
      })
      assert.deepEqual(after.data_planes.map((d) => d.node).sort(), ['dp-1', 'dp-2'])
      // a change still reaches both DPs over the new certificates
      await create(`${cluster.admin}/services/s/routes`, {'paths[]': '/after-rotation'})
      for (const p of cluster.proxies) await until(`${p} serves the new route`, async () => (await fetch(`${p}/after-rotation`)).status === 200)
    })
  })
}
