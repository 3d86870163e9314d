/**
 * Kong's spec/03-plugins/26-prometheus/06-hybrid-mode_metrics_spec.lua (3.9), ported: the
 * same describe/it titles and assertion, against a real data plane process (`role =
 * data_plane`, `database = off`, a cluster certificate made as `kctl gen-cert` makes it,
 * `status_listen`) with no control plane running, as in Kong's spec. The control plane's
 * own gauges about its data planes (`kong_data_plane_last_seen`, `_config_hash`,
 * `_version_compatible`) are checked in test/plugins/hybrid.test.ts, with a CP and a DP.
 */
import assert from 'node:assert/strict'
import {X509Certificate} from 'node:crypto'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test as it} from 'node:test'
import {findFreePort} from '../../../src/kit/ports.js'
import {generateClusterCertificate} from '../../../src/pki/index.js'
import {deadPort} from '../../proxy/helpers.js'
import {spawnNode, type NodeProcess} from '../../helpers/nodes.js'
import {until} from '../../helpers/until.js'
import {KongClient} from '../admin-api/kong-client.js'
import {resStatus} from './kong-proxy.js'

describe('Plugin: prometheus (Hybrid Mode)', () => {
  let dir: string
  let node: NodeProcess | undefined
  let statusClient: KongClient
  let certExpiry: number

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kctl-kong-prometheus-hybrid-'))
    const c = await generateClusterCertificate()
    writeFileSync(join(dir, 'cluster.crt'), c.cert)
    writeFileSync(join(dir, 'cluster.key'), c.key, {mode: 0o600})
    certExpiry = Math.floor(Date.parse(new X509Certificate(c.cert).validTo) / 1000)
    const [proxyPort, statusPort] = [await findFreePort(), await findFreePort()]
    node = spawnNode(dir, {
      role: 'data_plane',
      database: 'off',
      cluster_cert: join(dir, 'cluster.crt'),
      cluster_cert_key: join(dir, 'cluster.key'),
      // no control plane listens there, as in Kong's spec
      cluster_control_plane: `127.0.0.1:${await deadPort()}`,
      proxy_listen: `127.0.0.1:${proxyPort}`,
      status_listen: `127.0.0.1:${statusPort}`,
    })
    statusClient = new KongClient(`http://127.0.0.1:${statusPort}`)
    // a data plane with no configuration is not ready; its status listener answers
    await until('the status listener answers', async () => (await statusClient.get('/metrics').catch(() => null))?.status === 200, {
      abort: () => (node!.proc.exitCode !== null ? `the node exited (${node!.proc.exitCode})` : undefined),
      context: () => `node output:\n${node!.output()}`,
    })
  })
  after(async () => {
    await node?.stop()
    rmSync(dir, {recursive: true, force: true})
  })

  it("exposes data plane's cluster_cert expiry timestamp", async () => {
    const body = resStatus(200, await statusClient.get('/metrics'))
    assert.match(body, /data_plane_cluster_cert_expiry_timestamp \d+/)
    // the number is the certificate's notAfter (Kong reads the same from cluster_cert)
    assert.match(body, new RegExp(`^kong_data_plane_cluster_cert_expiry_timestamp ${certExpiry}$`, 'm'))
  })
})
