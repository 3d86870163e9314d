/**
 * In hybrid mode one `kctl apply` is one new configuration on every data plane, not a
 * series: a real CP over real Postgres and a real DP process, counting the DP's
 * `configuration <hash> applied` log lines.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, test} from 'node:test'
import {apply} from '../../src/services/apply.js'
import {clusterBed, freshDatabase, spawnDataPlane, startControlPlane} from '../helpers/nodes.js'
import {until} from '../helpers/until.js'

const bed = clusterBed('kctl-hybrid-apply-')
const {dir} = bed
const applied = (out: string) => [...out.matchAll(/configuration ([0-9a-f]{32}) applied/g)].map((m) => m[1])

async function startPair(database: string) {
  const certs = {cluster_cert: bed.certFile, cluster_cert_key: bed.keyFile}
  const cp = await startControlPlane(dir, bed.pg, await freshDatabase(bed.pg, database), certs)
  const dp = await spawnDataPlane(dir, cp.cluster, certs)
  await dp.node.waitReady()
  return {admin: cp.admin, cpStatus: cp.status, dp: dp.node}
}

describe('kctl apply in hybrid mode', () => {
  test('an apply of 200 services with routes reaches the data plane as exactly one new configuration', async () => {
    const {admin, cpStatus, dp} = await startPair('hybrid_apply_once')
    await dp.waitOutput(/configuration [0-9a-f]{32} applied/)
    // One write, then its configuration on the DP: the CP sends configurations in order on
    // one connection, so anything still in flight from the start has arrived before it.
    const cpHashNow = async () => (await (await fetch(`${cpStatus}/status`)).json()).configuration_hash as string
    const marker = async (name: string) => {
      const was = await cpHashNow()
      const r = await fetch(`${admin}/services`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({name, url: 'http://127.0.0.1:9'})})
      assert.equal(r.status, 201, await r.text())
      const hash = await until(`the CP to take the write of ${name}`, cpHashNow, {ok: (h) => h !== was})
      await dp.waitOutput(new RegExp(`configuration ${hash} applied`))
      return hash
    }
    await marker('marker-before')
    const before = applied(dp.output()).length
    const lines = ['_format_version: "3.0"', 'services:', '- name: marker-before', '  url: http://127.0.0.1:9']
    for (let i = 0; i < 200; i++) lines.push(`- name: s${i}`, '  url: http://127.0.0.1:9', '  routes:', `  - name: r${i}`, `    paths: [/s${i}]`)
    const file = join(dir, 'kong.yaml')
    writeFileSync(file, lines.join('\n') + '\n')
    const {result} = await apply({files: [file], adminUrl: admin, stateRoot: dir, yes: true})
    assert.deepEqual(result.summary, {created: 400, updated: 0, deleted: 0})
    const cpHash = (await (await fetch(`${cpStatus}/status`)).json()).configuration_hash
    await dp.waitOutput(new RegExp(`configuration ${cpHash} applied`))
    // A series would keep arriving: a later write's configuration comes after every
    // straggler of the apply, so once the DP applied it the window is closed.
    const afterHash = await marker('marker-after')
    const after = applied(dp.output()).slice(before)
    assert.deepEqual(after, [cpHash, afterHash], `the DP applied ${after.length - 1} configurations for one apply`)
  })
})
