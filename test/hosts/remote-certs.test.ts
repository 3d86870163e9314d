// `kctl certs rotate` of a hybrid cluster on three hosts of the SSH test bed (Postgres and
// the control plane on h1, data planes on h2 and h3), under a load on both data planes:
// 0 failed requests, no data plane refused, every data plane on the new certificate, the
// copies on each host owned by the nodes' user with keys 0600, the rollout's copies gone.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {fingerprintSha256} from '../../src/pki/index.js'
import {createSandbox, type Sandbox} from '../helpers/kctl.js'
import {failures, startLoad} from '../helpers/load.js'
import {until} from '../helpers/until.js'
import {bedSpec, HYBRID_ON_THREE_HOSTS, SERVED_REMOTELY_KONG_YAML, testbedUnavailable, up, type Testbed} from '../helpers/testbed.js'


describe('kctl certs rotate on three hosts (mtls shared)', {skip: testbedUnavailable(), timeout: 900_000}, () => {
  let bed: Testbed
  let sb: Sandbox
  const addr = (n: number): string => bed.hosts[n - 1].address

  before(async () => {
    bed = await up(3)
    sb = await createSandbox()
    await writeFile(
      join(sb.cwd, 'kctl.yaml'),
      bedSpec(bed, {name: 'rot', mode: 'hybrid', body: HYBRID_ON_THREE_HOSTS}),
    )
    await writeFile(join(sb.cwd, 'kong.yaml'), SERVED_REMOTELY_KONG_YAML)
    const init = await sb.kctl('init')
    assert.equal(init.code, 0, `${init.stdout}\n${init.stderr}`)
    const apply = await sb.kctl('apply', 'kong.yaml')
    assert.equal(apply.code, 0, `${apply.stdout}\n${apply.stderr}`)
    for (const n of [2, 3]) await until(`the data plane on h${n} to serve`, async () => (await fetch(`http://${addr(n)}:8000/hello`).catch(() => undefined))?.status === 200, {timeoutMs: 60_000})
  })
  after(async () => {
    await sb?.kctl('destroy', '--yes')
    await sb?.cleanup()
    await bed?.down()
  })

  it('rolls the new certificate out with 0 failed requests; no data plane refused; each on the new one, its copy the nodes’ user’s', async () => {
    const loads = [2, 3].map((n) => startLoad(`http://${addr(n)}:8000/hello`, 2))
    await until('the load to be under way', async () => loads.every((l) => l.done() > 10))
    const r = await sb.kctl('certs', 'rotate', '--days', '30', '--json')
    const shots = (await Promise.all(loads.map((l) => l.stop()))).flat()
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    const result = JSON.parse(r.stdout)
    assert.deepEqual(result.reloaded, ['cp-1', 'dp-1', 'dp-2'])
    assert.notEqual(result.current.fingerprint_sha256, result.previous.fingerprint_sha256)
    assert.ok(shots.length > 50, `${shots.length} requests`)
    assert.deepEqual(failures(shots), {}, `${shots.length} requests over both DPs during the rotation, none may fail`)

    const local = readFileSync(join(sb.dataDir, 'clusters', 'rot', 'certs', 'cluster.crt'), 'utf8')
    assert.equal(fingerprintSha256(local), result.current.fingerprint_sha256)
    const cpLog = (await bed.exec('h1', 'cat /var/lib/kctl/rot/nodes/cp-1/logs/node.log')).stdout
    assert.doesNotMatch(cpLog, /rejected/, 'the CP never refused a data plane')
    for (const [n, dp] of [[2, 'dp-1'], [3, 'dp-2']] as const) {
      const copy = await bed.exec(`h${n}`, 'cat /etc/kctl/rot/certs/cluster.crt; echo; stat -c "%a %U" /etc/kctl/rot/certs/cluster.key; ls -A /etc/kctl/rot/certs')
      assert.ok(copy.stdout.startsWith(local), `h${n} has the new certificate`)
      assert.match(copy.stdout, /\n600 kctl-rot\n/, `h${n}: the key is 0600, the nodes' user's`)
      assert.match(copy.stdout, /\ncluster\.crt\ncluster\.key\n?$/, `h${n}: the rollout's copies are gone`)
      const conf = (await bed.exec(`h${n}`, `cat /etc/kctl/rot/nodes/${dp}/kong.conf`)).stdout
      assert.doesNotMatch(conf, /kctl_cluster_pinned_certs|rotation-trust|next\//, `${dp} trusts only the new certificate`)
      assert.doesNotMatch((await bed.exec(`h${n}`, `cat /var/lib/kctl/rot/nodes/${dp}/logs/node.log`)).stdout, /refusing control plane/, `${dp} never refused its control plane`)
    }
    await until('both data planes connected with the new certificate', async () => {
      const s = await sb.kctl('status', '--json')
      const dps = JSON.parse(s.stdout).data_planes as {node: string; sync: string; cert_expiry: number | null}[]
      return dps.length === 2 && dps.every((d) => d.sync === 'in_sync' && d.cert_expiry && Math.abs(d.cert_expiry - (Date.now() / 1000 + 30 * 86_400)) < 2 * 86_400)
    }, {timeoutMs: 60_000})
  })
})
