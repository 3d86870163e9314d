/**
 * `kctl certs status` on a pki cluster whose certificates were issued for 10 days: every
 * certificate listed with its subject, file and days left, each warned about; `kctl status`
 * warns too, naming `kctl certs rotate`; after a rotation for 400 days the warnings are gone.
 */
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {startCluster, type Cluster} from '../helpers/nodes.js'

describe('kctl certs status (pki, certificates valid 10 days)', () => {
  let cluster: Cluster
  before(async () => {
    cluster = await startCluster({mode: 'hybrid', name: 'short', dataPlanes: 1, certificates: {mtls: 'pki', days: 10}})
  })
  after(async () => {
    await cluster?.cleanup()
  })

  it('lists the CA and each node certificate with its days left, and warns about each', async () => {
    const r = await cluster.kctl('certs', 'status', '--json')
    assert.equal(r.code, 0, r.stderr)
    const s = JSON.parse(r.stdout)
    const certs = join(cluster.dataDir, 'clusters', 'short', 'certs')
    assert.deepEqual(Object.keys(s).sort(), ['certificates', 'cluster', 'mtls', 'rotation_in_progress', 'warn_days', 'warnings'])
    assert.equal(s.mtls, 'pki')
    assert.deepEqual(
      s.certificates.map((c: any) => [c.kind, c.node, c.file, c.subject, c.generated, c.error]),
      [
        ['ca', null, join(certs, 'ca.crt'), 'CN=kctl cluster CA', true, null],
        ['node', 'cp-1', join(certs, 'cp-1.crt'), 'CN=cp-1', true, null],
        ['node', 'dp-1', join(certs, 'dp-1.crt'), 'CN=dp-1', true, null],
      ],
    )
    for (const c of s.certificates) {
      assert.equal(c.days_left, 9, `${c.file}: issued for 10 days, 9 whole days left`)
      assert.ok(Math.abs(Date.parse(c.expires_at) - (Date.now() + 10 * 86_400_000)) < 3_600_000)
      assert.match(c.fingerprint_sha256, /^[0-9a-f]{64}$/)
    }
    assert.equal(s.warnings.length, 3)
    assert.match(s.warnings[0], /^the cluster CA \(.*ca\.crt\) expires in 9 day\(s\) \(.*\): run `kctl certs rotate`$/)

    const plain = await cluster.kctl('certs', 'status')
    assert.equal(plain.code, 0)
    assert.match(plain.stdout, /^KIND +NODE +SUBJECT +EXPIRES +DAYS LEFT +FILE$/m)
    assert.match(plain.stdout, /^node +dp-1 +CN=dp-1 +\S+ +9 +\S+dp-1\.crt$/m)
    assert.match(plain.stdout, /^warning: the cluster certificate of dp-1 .* run `kctl certs rotate`$/m)
  })

  it('kctl status warns (the cluster stays healthy), in JSON and in the plain output', async () => {
    const r = await cluster.kctl('status', '--json')
    const s = JSON.parse(r.stdout)
    assert.equal(s.warnings.length, 3, s.warnings.join('\n'))
    assert.ok(s.warnings.every((w: string) => w.endsWith('run `kctl certs rotate`')))
    const plain = await cluster.kctl('status')
    assert.match(plain.stdout, /^warning: the cluster CA .* expires in 9 day\(s\)/m)
  })

  it('after `kctl certs rotate --days 400` nothing is warned about', async () => {
    const r = await cluster.kctl('certs', 'rotate', '--days', '400')
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    assert.match(r.stdout, /^Rotated the cluster CA and node certificates of short: valid until \S+ \(was \S+\)\.$/m)
    const s = JSON.parse((await cluster.kctl('certs', 'status', '--json')).stdout)
    assert.deepEqual(s.warnings, [])
    for (const c of s.certificates) assert.equal(c.days_left, 399, c.file)
    assert.deepEqual(JSON.parse((await cluster.kctl('status', '--json')).stdout).warnings, [])
  })
})
