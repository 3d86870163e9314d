/**
 * `/clustering/data-planes` and `/clustering/status` on real nodes over a real Postgres:
 * refused (400) on a node that is not a control plane, paged with `size` and `next`, and
 * rows past their TTL (`cluster_data_plane_purge_delay` after the last ping) hidden at
 * once and deleted by the purge.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import pg from 'pg'
import {findFreePort} from '../../src/kit/ports.js'
import {generateClusterCertificate} from '../../src/pki/index.js'
import {purgeExpired, type ListedDataPlane} from '../../src/runtime/clustering/data-planes.js'
import {createProber} from '../../src/services/status/probe.js'
import {until} from '../helpers/until.js'
import {freshDatabase, killAll, pgValues, rawDataPlane, type RawDataPlane, spawnNode, startControlPlane} from '../helpers/nodes.js'
import {startTestPostgres, type TestPostgres} from '../helpers/postgres.js'

const dir = mkdtempSync(join(tmpdir(), 'kctl-data-planes-'))
const certFile = join(dir, 'cluster.crt')
const keyFile = join(dir, 'cluster.key')
let server: TestPostgres

/** Every field of a listed row: the compiler keeps this in step with the one wire type. */
const LISTED: Record<keyof ListedDataPlane, true> = {
  id: true, hostname: true, ip: true, last_seen: true, updated_at: true, config_hash: true, version: true, sync_status: true, ttl: true, labels: true, cert_details: true, rpc_capabilities: true,
}

const getJson = async (url: string) => {
  const r = await fetch(url)
  return {status: r.status, body: await r.json()}
}

before(async () => {
  server = await startTestPostgres()
  const c = await generateClusterCertificate()
  writeFileSync(certFile, c.cert)
  writeFileSync(keyFile, c.key, {mode: 0o600})
})

after(async () => {
  killAll()
  await server?.stop()
  rmSync(dir, {recursive: true, force: true})
})

describe('/clustering endpoints', () => {
  test("a traditional node answers 400 with Kong's message on both", async () => {
    const [admin, status, proxy] = [await findFreePort(), await findFreePort(), await findFreePort()]
    const node = spawnNode(
      dir,
      {role: 'traditional', ...pgValues(server, await freshDatabase(server, 'dp_traditional')), admin_listen: `127.0.0.1:${admin}`, status_listen: `127.0.0.1:${status}`, proxy_listen: `127.0.0.1:${proxy}`},
      {status: `http://127.0.0.1:${status}`},
    )
    try {
      await node.waitReady()
      for (const path of ['/clustering/data-planes', '/clustering/status']) {
        assert.deepEqual(await getJson(`http://127.0.0.1:${admin}${path}`), {
          status: 400,
          body: {message: 'this endpoint is only available when Kong is configured to run as Control Plane for the cluster'},
        }, path)
      }
    } finally {
      await node.stop()
    }
  })

  test('pages with size and next; rows past their TTL are hidden, then purged', async () => {
    const database = await freshDatabase(server, 'dp_paging')
    // A 3 s TTL instead of Kong's 14 days, so expiry happens within the test.
    const cp = await startControlPlane(dir, server, database, {cluster_cert: certFile, cluster_cert_key: keyFile, cluster_data_plane_purge_delay: 3})
    const tls = {cert: readFileSync(certFile), key: readFileSync(keyFile)}
    const raws: RawDataPlane[] = [rawDataPlane(cp.cluster, tls), rawDataPlane(cp.cluster, tls), rawDataPlane(cp.cluster, tls)]
    const db = new pg.Pool({host: server.host, port: server.port, user: server.user, password: server.password, database, max: 1})
    try {
      await until('the CP lists the three DPs', async () => (await getJson(`${cp.admin}/clustering/data-planes`)).body.data.length, {ok: (v) => v === 3})

      const pages: {data: {id: string; ttl: number}[]; next: string | null}[] = []
      let next: string | null = '/clustering/data-planes?size=1'
      while (next && pages.length < 5) {
        const page = await getJson(cp.admin + next)
        assert.equal(page.status, 200)
        pages.push(page.body)
        next = page.body.next
      }
      assert.deepEqual(pages.map((p) => p.data.length), [1, 1, 1])
      assert.match(String(pages[0].next), /^\/clustering\/data-planes\?.*offset=/)
      assert.equal(pages[2].next, null)
      const ids = pages.map((p) => p.data[0].id)
      assert.deepEqual(ids, raws.map((r) => r.id).sort(), 'every DP once, in id order')
      for (const p of pages) assert.ok(p.data[0].ttl >= 0 && p.data[0].ttl <= 3, `ttl ${p.data[0].ttl}`)

      // kctl status reads the same rows through its prober, typed as the runtime's ListedDataPlane.
      const prober = createProber()
      try {
        const listed = await prober.dataPlanes(cp.admin)
        assert.equal(listed.length, 3)
        for (const r of listed) {
          assert.deepEqual(Object.keys(r).sort(), Object.keys(LISTED).sort(), 'the fields the type names, no more')
          for (const k of ['last_seen', 'updated_at', 'ttl'] as const) assert.equal(typeof r[k], 'number', k)
          assert.ok(r.labels !== null && typeof r.labels === 'object', 'labels is an object')
          assert.ok(r.cert_details !== null && typeof r.cert_details.expiry_timestamp === 'number', 'cert_details has the DP certificate expiry')
        }
      } finally {
        await prober.close()
      }

      // Two DPs go away; the third keeps pinging and so keeps its row alive.
      raws[0].close()
      raws[1].close()
      await until('the rows of the DPs gone for more than 3 s are no longer listed', async () => {
        const rows = (await getJson(`${cp.admin}/clustering/data-planes`)).body.data as {id: string}[]
        return rows.length === 1 && rows[0].id === raws[2].id
      }, {timeoutMs: 10_000})
      const status = (await getJson(`${cp.admin}/clustering/status`)).body
      assert.deepEqual(Object.keys(status), [raws[2].id])

      // The CP deletes expired rows every 60 s; the statement it runs, run now:
      const stored = async () => (await db.query('SELECT id FROM clustering_data_planes ORDER BY id')).rows.map((r) => r.id)
      assert.equal((await stored()).length, 3, 'hidden, not yet deleted')
      await purgeExpired(db)
      assert.deepEqual(await stored(), [raws[2].id])
    } finally {
      for (const r of raws) r.close()
      // end() resolves before the connection is closed and 'remove' comes once it is: waiting
      // for it keeps the server's shutdown in `after` from reaching a half-closed client.
      const closed = db.totalCount ? new Promise((r) => db.once('remove', r)) : Promise.resolve()
      await db.end()
      await closed
      await cp.node.stop()
    }
  })
})
