// `kctl certs rotate` of a hybrid cluster on three hosts of the SSH test bed (Postgres and
// the control plane on h1, data planes on h2 and h3), under a load on both data planes at
// their host addresses, in shared and in pki mode: 0 failed requests, no data plane refused,
// every data plane on the new certificate, the copies on each host owned by the nodes' user
// with keys 0600, the rollout's copies gone, `status` and `certs status` on the new expiry.
import assert from 'node:assert/strict'
import {X509Certificate} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {fingerprintSha256} from '../../src/pki/index.js'
import {createSandbox, type Sandbox} from '../helpers/kctl.js'
import {failures, startLoad} from '../helpers/load.js'
import {until} from '../helpers/until.js'
import {bedSpec, HYBRID_ON_THREE_HOSTS, SERVED_REMOTELY_KONG_YAML, testbedUnavailable, up, type Testbed} from '../helpers/testbed.js'

const DAY = 86_400

/**
 * A bed of three hosts with the hybrid cluster `rot` of HYBRID_ON_THREE_HOSTS (`extra`: more
 * of `spec`), serving SERVED_REMOTELY_KONG_YAML's /hello on both data planes; torn down after.
 */
function rotationBed(extra = ''): {bed: () => Testbed; sb: () => Sandbox; addr: (n: number) => string} {
  let bed: Testbed
  let sb: Sandbox
  const addr = (n: number): string => bed.hosts[n - 1].address
  before(async () => {
    bed = await up(3)
    sb = await createSandbox()
    await writeFile(join(sb.cwd, 'kctl.yaml'), bedSpec(bed, {name: 'rot', mode: 'hybrid', body: HYBRID_ON_THREE_HOSTS + extra}))
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
  return {bed: () => bed, sb: () => sb, addr}
}

interface DataPlaneRow {
  node: string
  sync: string
  cert_expiry: number | null
}

const dataPlanes = async (sb: Sandbox): Promise<DataPlaneRow[]> => {
  const s = await sb.kctl('status', '--json')
  return (JSON.parse(s.stdout).data_planes ?? []) as DataPlaneRow[]
}

/** Both data planes in sync, each certificate's expiry `days` days from `now` (± 2 days). */
const allOn = (dps: DataPlaneRow[], now: number, days: number): boolean =>
  dps.length === 2 && dps.every((d) => d.sync === 'in_sync' && d.cert_expiry !== null && Math.abs(d.cert_expiry - (now + days * DAY)) < 2 * DAY)

/** The colon form the node's TLS uses in the log (`AB:CD:…`). */
const colons = (hex: string): string => hex.toUpperCase().match(/../g)!.join(':')

describe('kctl certs rotate on three hosts (mtls shared)', {skip: testbedUnavailable(), timeout: 900_000}, () => {
  const on = rotationBed()
  let bed: Testbed
  let sb: Sandbox
  const addr = (n: number): string => on.addr(n)
  before(() => {
    bed = on.bed()
    sb = on.sb()
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
    await until('both data planes connected with the new certificate', async () => allOn(await dataPlanes(sb), Date.now() / 1000, 30), {timeoutMs: 60_000})
  })
})

describe('kctl certs rotate on three hosts (mtls pki)', {skip: testbedUnavailable(), timeout: 900_000}, () => {
  const on = rotationBed('  certificates: {mtls: pki}\n')
  const certsDir = (sb: Sandbox): string => join(sb.dataDir, 'clusters', 'rot', 'certs')

  it('rolls a new CA and node certificates out with 0 failed requests; no data plane refused; each on its new one; status and certs status on the new expiry', async () => {
    const bed = on.bed()
    const sb = on.sb()
    const now = Date.now() / 1000
    await until('the CP knows both DPs with their certificate expiry', async () => allOn(await dataPlanes(sb), now, 1095), {timeoutMs: 60_000})

    const loads = [2, 3].map((n) => startLoad(`http://${on.addr(n)}:8000/hello`, 2))
    await until('the load to be under way', async () => loads.every((l) => l.done() > 10))
    const r = await sb.kctl('certs', 'rotate', '--days', '30', '--json')
    const shots = (await Promise.all(loads.map((l) => l.stop()))).flat()
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    const result = JSON.parse(r.stdout)
    assert.equal(result.mtls, 'pki')
    assert.deepEqual(result.reloaded, ['cp-1', 'dp-1', 'dp-2'])
    assert.deepEqual(result.not_running, [])
    assert.notEqual(result.current.fingerprint_sha256, result.previous.fingerprint_sha256)
    assert.ok(shots.length > 50, `${shots.length} requests`)
    assert.deepEqual(failures(shots), {}, `${shots.length} requests over both DPs during the rotation, none may fail`)

    const local = (file: string): string => readFileSync(join(certsDir(sb), file), 'utf8')
    assert.equal(fingerprintSha256(local('ca.crt')), result.current.fingerprint_sha256)
    // the control plane's new certificate still names h1's address, which the data planes dial
    const cpCert = await bed.exec('h1', 'cat /etc/kctl/rot/certs/cp-1.crt')
    assert.equal(cpCert.stdout.trim(), local('cp-1.crt').trim(), 'h1 has cp-1’s new certificate')
    assert.match(new X509Certificate(cpCert.stdout).subjectAltName ?? '', new RegExp(`IP Address:${on.addr(1).replace(/\./g, '\\.')}(,|$)`))
    assert.equal(new X509Certificate(cpCert.stdout).verify(new X509Certificate(local('ca.crt')).publicKey), true, 'issued by the new CA')

    const cpLog = (await bed.exec('h1', 'cat /var/lib/kctl/rot/nodes/cp-1/logs/node.log')).stdout
    assert.doesNotMatch(cpLog, /rejected/, 'the CP never refused a data plane')
    for (const [n, dp] of [[2, 'dp-1'], [3, 'dp-2']] as const) {
      const own = local(`${dp}.crt`)
      assert.match(cpLog, new RegExp(`certificate SHA-256 ${colons(fingerprintSha256(own))}`), `the CP saw ${dp}'s new certificate`)
      const copy = await bed.exec(`h${n}`, `cat /etc/kctl/rot/certs/${dp}.crt; echo; stat -c "%a %U" /etc/kctl/rot/certs/${dp}.key; ls -A /etc/kctl/rot/certs`)
      assert.ok(copy.stdout.startsWith(own), `h${n} has ${dp}'s new certificate`)
      assert.match(copy.stdout, /\n600 kctl-rot\n/, `h${n}: the key is 0600, the nodes' user's`)
      assert.doesNotMatch(copy.stdout, /next|rotation-trust/, `h${n}: the rollout's copies are gone`)
      const conf = (await bed.exec(`h${n}`, `cat /etc/kctl/rot/nodes/${dp}/kong.conf`)).stdout
      assert.doesNotMatch(conf, /rotation-trust|next\//, `${dp} trusts only the new CA`)
      assert.doesNotMatch((await bed.exec(`h${n}`, `cat /var/lib/kctl/rot/nodes/${dp}/logs/node.log`)).stdout, /refusing control plane/, `${dp} never refused its control plane`)
    }

    await until('kctl status: both data planes in sync on the new certificate', async () => allOn(await dataPlanes(sb), now, 30), {timeoutMs: 60_000})
    const cs = await sb.kctl('certs', 'status', '--json')
    assert.equal(cs.code, 0, `${cs.stdout}\n${cs.stderr}`)
    const listed = JSON.parse(cs.stdout) as {rotation_in_progress: boolean; certificates: {kind: string; node: string | null; expires_at: string}[]}
    assert.equal(listed.rotation_in_progress, false)
    const cluster = listed.certificates.filter((c) => c.kind !== 'proxy')
    assert.deepEqual(cluster.map((c) => c.node ?? c.kind).sort(), ['ca', 'cp-1', 'dp-1', 'dp-2'].sort(), JSON.stringify(cluster))
    for (const c of cluster) assert.ok(Math.abs(Date.parse(c.expires_at) / 1000 - (now + 30 * DAY)) < 2 * DAY, `${c.node ?? c.kind} expires in 30 days: ${c.expires_at}`)

    // a change still reaches both data planes over the new certificates
    await writeFile(join(sb.cwd, 'kong.yaml'), SERVED_REMOTELY_KONG_YAML.replace('paths: [/hello]', 'paths: [/hello, /after-rotation]'))
    const apply = await sb.kctl('apply', 'kong.yaml')
    assert.equal(apply.code, 0, `${apply.stdout}\n${apply.stderr}`)
    for (const n of [2, 3]) await until(`h${n} serves the new path`, async () => (await fetch(`http://${on.addr(n)}:8000/after-rotation`).catch(() => undefined))?.status === 200, {timeoutMs: 60_000})
  })
})
