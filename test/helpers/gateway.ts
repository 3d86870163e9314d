/**
 * An Admin API over a real, freshly migrated Postgres database, served on a free
 * loopback port. Each call gets its own database, so tests in a file do not share rows.
 */
import {mkdtemp, rm} from 'node:fs/promises'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before} from 'node:test'
import {buildAdminApi} from '../../src/runtime/admin/server.js'
import {loadEntities} from '../../src/runtime/db/load-entities.js'
import {createPool} from '../../src/runtime/db/pool.js'
import {createLogger} from '../../src/runtime/kit/log.js'
import {createProxy, type Proxy, type ProxyOptions} from '../../src/runtime/proxy/server.js'
import {buildSnapshot} from '../../src/runtime/proxy/snapshot.js'
import {proxyMetrics, type HealthView} from '../../src/runtime/workers/proxy-host.js'
import {startTestPostgres, type TestPostgres} from './postgres.js'

let counter = 0

export interface TestAdmin {
  url: string
  /** fetch relative to the Admin API; JSON bodies are encoded for you. */
  call(method: string, path: string, body?: unknown): Promise<{status: number; body: any; headers: Headers}>
  /** POST a form-urlencoded body. */
  form(method: string, path: string, form: string): Promise<{status: number; body: any}>
  changes: number
  /** The node's database (for a test to look at what a plugin stored). */
  pool: ReturnType<typeof createPool>
  /** With `{proxy: true}`: the proxy every write rebuilds, as on a traditional node (not listening). */
  proxy?: Proxy
  close(): Promise<void>
}

export async function startTestAdmin(pg: TestPostgres, opts: {proxy?: boolean; health?: HealthView; proxyOptions?: Partial<ProxyOptions>} = {}): Promise<TestAdmin> {
  const database = `admin_${process.pid}_${++counter}`
  const conn = await pg.migratedDatabase(database)
  const pool = createPool(conn)
  const state = {changes: 0}
  const log = createLogger({level: 'crit'})
  const proxy = opts.proxy ? createProxy({log, ...opts.proxyOptions, database: pool}) : undefined
  const handler = buildAdminApi({
    pool,
    nodeId: '00000000-0000-4000-8000-000000000001',
    configuration: {pg_password: '******', role: 'traditional'},
    log,
    onChange: async () => {
      state.changes++
      if (proxy) proxy.swap(buildSnapshot(await loadEntities(pool)))
    },
    health: proxy ? {registry: proxy.health} : opts.health,
    status: async () => ({database: {reachable: true}}),
    ready: async () => null,
    metrics: proxy ? async () => proxyMetrics(proxy, {nodeId: '00000000-0000-4000-8000-000000000001', datastoreReachable: await pool.query('SELECT 1').then(() => true, () => false)}) : undefined,
  })
  const server: Server = createServer(handler)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const parse = async (res: Response) => {
    const text = await res.text()
    return text ? JSON.parse(text) : undefined
  }
  return {
    url,
    get changes() {
      return state.changes
    },
    async call(method, path, body) {
      const res = await fetch(url + path, {
        method,
        headers: body === undefined ? {} : {'content-type': 'application/json'},
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      return {status: res.status, body: await parse(res), headers: res.headers}
    },
    async form(method, path, form) {
      const res = await fetch(url + path, {method, headers: {'content-type': 'application/x-www-form-urlencoded'}, body: form})
      return {status: res.status, body: await parse(res)}
    },
    proxy,
    pool,
    async close() {
      await proxy?.close()
      await new Promise<void>((r) => server.close(() => r()))
      await pool.end()
    },
  }
}

/** A test file's Admin API over its own Postgres; every field is set in `before`. */
export interface AdminBed {
  pg: TestPostgres
  api: TestAdmin
  /** A temp folder of the file's own (only with `tempPrefix`; removed after the file). */
  dir: string
}

/**
 * Postgres, an Admin API over it (startTestAdmin) and, with `tempPrefix`, a temp folder,
 * started before the file's tests and stopped after them, also when they fail. `ready`
 * runs inside the same hook once the bed is up: Node 20 does not wait for one file-level
 * `before` to finish before it starts the next, so a second hook would see an empty bed.
 */
export function adminBed(tempPrefix?: string, ready?: (bed: AdminBed) => void | Promise<void>): AdminBed {
  const bed = {} as AdminBed
  before(async () => {
    bed.pg = await startTestPostgres()
    bed.api = await startTestAdmin(bed.pg)
    if (tempPrefix) bed.dir = await mkdtemp(join(tmpdir(), tempPrefix))
    await ready?.(bed)
  })
  after(async () => {
    await bed.api?.close()
    await bed.pg?.stop()
    if (bed.dir) await rm(bed.dir, {recursive: true, force: true})
  })
  return bed
}
