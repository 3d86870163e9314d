/**
 * A throwaway real Postgres for tests: a temp dir, a free port, fsync off.
 *
 *   let pg: TestPostgres
 *   before(async () => { pg = await startTestPostgres() })
 *   after(() => pg?.stop())
 */
import {chmod, mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {findFreePort} from '../../src/kit/ports.js'
import {signalProcess, type ProcessIdentity} from '../../src/kit/process.js'
import {connectionUrl, createDatabase, initCluster, preparePostgres, startServer, stopServer} from '../../src/cluster/postgres.js'
import {migrate} from '../../src/runtime/db/migrations.js'

export interface TestPostgres {
  /** postgres://user:password@127.0.0.1:port/database */
  url: string
  host: string
  port: number
  user: string
  password: string
  database: string
  /** Creates `name` on this server and runs the migrations; returns its connection. */
  migratedDatabase(name: string): Promise<{host: string; port: number; user: string; password: string; database: string}>
  /** Stops the server and removes every file it used. Safe to call twice. */
  stop(): Promise<void>
}

export async function startTestPostgres(database = 'kong_test'): Promise<TestPostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'kctl-testpg-'))
  // mkdtemp makes 0700 dirs; as root the server runs as another user that must traverse it.
  await chmod(dir, 0o755)
  let server: ProcessIdentity | undefined
  let stopped = false
  const stop = async () => {
    stopped = true
    await stopServer({process: server}).catch(() => {})
    await rm(dir, {recursive: true, force: true})
  }
  try {
    const port = await findFreePort()
    const pgi = await preparePostgres({stateDir: dir, port, user: 'kong', password: 'kong-test-pw', dataDir: join(dir, 'data')})
    await initCluster(pgi, {noSync: true})
    server = (await startServer(pgi, {logFile: join(dir, 'postgres.log'), settings: {fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off'}})).process
    // The server is detached: if this process ends without running `stop()` (a run cut
    // short), take it down anyway rather than leave it behind.
    const started = server
    process.once('exit', () => {
      if (!stopped) signalProcess(started, 'SIGINT')
    })
    await createDatabase({host: '127.0.0.1', port, user: pgi.user, password: pgi.password}, database)
    const conn = {host: '127.0.0.1', port, user: pgi.user, password: pgi.password, database}
    const migratedDatabase = async (name: string) => {
      const c = {...conn, database: name}
      await createDatabase(c, name)
      await migrate(c)
      return c
    }
    return {...conn, url: connectionUrl(conn), migratedDatabase, stop}
  } catch (err) {
    await stop()
    throw err
  }
}
