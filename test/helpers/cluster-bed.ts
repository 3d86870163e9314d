/**
 * What the clustering and worker tests share, set up once per test file: a temp dir with
 * a shared cluster certificate, a real test Postgres, and an upstream answering
 * `upstream <path>`. Called at the top of a file, it registers the `before` and `after`
 * hooks; `after` kills every node the file spawned, then stops and removes the rest.
 *
 *   const bed = clusterBed('kctl-hybrid-')
 *   test('…', async () => startControlPlane(bed.dir, bed.pg, …))
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before} from 'node:test'
import {generateClusterCertificate} from '../../src/pki/index.js'
import {killAll} from './node-process.js'
import {startTestPostgres, type TestPostgres} from './postgres.js'

export interface ClusterBed {
  dir: string
  certFile: string
  keyFile: string
  /** Set in `before`. */
  pg: TestPostgres
  /** http://127.0.0.1:port of the upstream; set in `before`. */
  upstreamUrl: string
}

export function clusterBed(prefix: string): ClusterBed {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const bed = {dir, certFile: join(dir, 'cluster.crt'), keyFile: join(dir, 'cluster.key')} as ClusterBed
  let upstream: Server | undefined
  before(async () => {
    bed.pg = await startTestPostgres()
    const c = await generateClusterCertificate()
    writeFileSync(bed.certFile, c.cert)
    writeFileSync(bed.keyFile, c.key, {mode: 0o600})
    upstream = createServer((req, res) => res.end(`upstream ${req.url}`))
    await new Promise<void>((r) => upstream!.listen(0, '127.0.0.1', r))
    bed.upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
  })
  after(async () => {
    killAll()
    upstream?.close()
    await bed.pg?.stop()
    rmSync(dir, {recursive: true, force: true})
  })
  return bed
}
