/**
 * In hybrid mode one `kctl apply` is one new configuration on every data plane, not a
 * series: a real CP over real Postgres and a real DP process, counting the DP's
 * `configuration <hash> applied` log lines.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {findFreePort} from '../../src/kit/ports.js'
import {generateClusterCertificate} from '../../src/pki/index.js'
import {apply} from '../../src/services/apply.js'
import {killAll, spawnNode} from '../helpers/nodes.js'
import {startTestPostgres, type TestPostgres} from '../helpers/postgres.js'
import {until} from '../helpers/until.js'

const dir = mkdtempSync(join(tmpdir(), 'kctl-hybrid-apply-'))
let pg: TestPostgres
const applied = (out: string) => [...out.matchAll(/configuration ([0-9a-f]{32}) applied/g)].map((m) => m[1])

before(async () => {
  pg = await startTestPostgres()
  const c = await generateClusterCertificate()
  writeFileSync(join(dir, 'cluster.crt'), c.cert)
  writeFileSync(join(dir, 'cluster.key'), c.key, {mode: 0o600})
})
after(async () => {
  killAll()
  await pg?.stop()
  rmSync(dir, {recursive: true, force: true})
})

async function startPair(database: string) {
  await pg.migratedDatabase(database)
  const [admin, cpStatus, cluster, proxy, dpStatus] = await Promise.all([1, 2, 3, 4, 5].map(() => findFreePort()))
  const certs = {cluster_cert: join(dir, 'cluster.crt'), cluster_cert_key: join(dir, 'cluster.key'), cluster_ping_interval: 1}
  const cp = spawnNode(
    dir,
    {role: 'control_plane', pg_host: pg.host, pg_port: pg.port, pg_user: pg.user, pg_password: pg.password, pg_database: database, admin_listen: `127.0.0.1:${admin}`, status_listen: `127.0.0.1:${cpStatus}`, cluster_listen: `127.0.0.1:${cluster}`, ...certs},
    {status: `http://127.0.0.1:${cpStatus}`},
  )
  await cp.waitReady()
  const dp = spawnNode(
    dir,
    {role: 'data_plane', database: 'off', cluster_control_plane: `127.0.0.1:${cluster}`, proxy_listen: `127.0.0.1:${proxy}`, status_listen: `127.0.0.1:${dpStatus}`, ...certs},
    {status: `http://127.0.0.1:${dpStatus}`},
  )
  await dp.waitReady()
  return {admin: `http://127.0.0.1:${admin}`, cpStatus: `http://127.0.0.1:${cpStatus}`, dp}
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
