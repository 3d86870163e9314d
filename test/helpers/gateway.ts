/**
 * An Admin API over a real, freshly migrated Postgres database, served on a free
 * loopback port. Each call gets its own database, so tests in a file do not share rows.
 */
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {buildAdminApi} from '../../src/runtime/admin/server.js'
import {createPool} from '../../src/runtime/db/pool.js'
import {createLogger} from '../../src/runtime/log.js'
import type {TestPostgres} from './postgres.js'

let counter = 0

export interface TestAdmin {
  url: string
  /** fetch relative to the Admin API; JSON bodies are encoded for you. */
  call(method: string, path: string, body?: unknown): Promise<{status: number; body: any; headers: Headers}>
  /** POST a form-urlencoded body. */
  form(method: string, path: string, form: string): Promise<{status: number; body: any}>
  changes: number
  close(): Promise<void>
}

export async function startTestAdmin(pg: TestPostgres): Promise<TestAdmin> {
  const database = `admin_${process.pid}_${++counter}`
  const conn = await pg.migratedDatabase(database)
  const pool = createPool(conn)
  const state = {changes: 0}
  const handler = buildAdminApi({
    pool,
    nodeId: '00000000-0000-4000-8000-000000000001',
    configuration: {pg_password: '******', role: 'traditional'},
    log: createLogger({level: 'crit'}),
    onChange: async () => void state.changes++,
    status: async () => ({database: {reachable: true}}),
    ready: async () => null,
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
    async close() {
      await new Promise<void>((r) => server.close(() => r()))
      await pool.end()
    },
  }
}
