/**
 * A gateway node in the `traditional` role: Postgres storage, Admin API, proxy and
 * status listener.
 *
 *   start:  conf ─► node id ─► Postgres reachable? ─► migrations current? ─► load config
 *           ─► build proxy snapshot ─► listen (proxy, admin, status) ─► LISTEN for changes
 *   change: Admin API write (or NOTIFY from another node) ─► reload ─► build ─► swap
 *   stop:   SIGTERM ─► stop accepting ─► drain in-flight requests ─► close pool
 */
import {randomUUID} from 'node:crypto'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import {join} from 'node:path'
import type pg from 'pg'
import {buildAdminApi} from './admin/server.js'
import {publicConf} from './conf/load.js'
import type {NodeConf} from './conf/defaults.js'
import {coalesce, loadEntities} from './config-loader.js'
import {CONFIG_CHANNEL} from './db/dao.js'
import {pendingMigrations} from './db/migrations.js'
import {createPool, describePgError, type PgOptions} from './db/pool.js'
import type {Logger} from './log.js'
import {closeServer, listen} from './net.js'
import {parseListen} from './proxy/listen.js'
import {createProxy} from './proxy/server.js'
import {buildSnapshot, type EntitySet} from './proxy/snapshot.js'
import {createStatusApi} from './status.js'

export interface RunningNode {
  nodeId: string
  /** Stops accepting, drains, closes. Idempotent. */
  close(): Promise<void>
}

export const pgOptions = (c: NodeConf): PgOptions => ({
  host: c.pg_host,
  port: c.pg_port,
  user: c.pg_user,
  password: c.pg_password,
  database: c.pg_database,
  ssl: c.pg_ssl,
  timeout: c.pg_timeout,
  poolSize: c.pg_pool_size,
})

/** The node id persists in `<prefix>/kong.id`, as Kong's does. */
export function nodeIdFor(prefix: string): string {
  const file = join(prefix, 'kong.id')
  try {
    const id = readFileSync(file, 'utf8').trim()
    if (id) return id
  } catch {
    /* first start */
  }
  const id = randomUUID()
  writeFileSync(file, id + '\n', {mode: 0o600})
  return id
}

export async function startTraditionalNode(conf: NodeConf, log: Logger): Promise<RunningNode> {
  mkdirSync(conf.prefix, {recursive: true})
  const nodeId = nodeIdFor(conf.prefix)
  const pgo = pgOptions(conf)
  await checkDatabase(pgo)
  const pool = createPool(pgo)
  const servers: Server[] = []
  let listener: pg.PoolClient | undefined
  let closed: Promise<void> | undefined
  const proxy = createProxy({log: log.child({subsystem: 'proxy'})})
  let configVersion = 0

  const rebuild = coalesce(async () => {
    const snapshot = buildSnapshot((await loadEntities(pool)) as unknown as EntitySet)
    proxy.swap(snapshot)
    configVersion++
  })

  const close = () =>
    (closed ??= (async () => {
      await Promise.all([proxy.close(), ...servers.map((s) => closeServer(s))])
      listener?.release(true)
      await pool.end().catch(() => {})
    })())

  try {
    await rebuild()
    const status = async () => ({
      database: {reachable: await pool.query('SELECT 1').then(() => true, () => false)},
      server: proxy.stats?.() ?? {},
      memory: {rss_bytes: process.memoryUsage().rss},
      configuration_version: configVersion,
    })
    const admin = buildAdminApi({pool, nodeId, configuration: publicConf(conf), log: log.child({subsystem: 'admin'}), onChange: rebuild, status})
    for (const l of parseListen(conf.admin_listen).filter((l) => !l.ssl)) {
      const server = createServer({keepAliveTimeout: 60_000}, admin)
      await listen(server, l.host, l.port, 'admin_listen')
      servers.push(server)
    }
    const statusApi = createStatusApi({status, ready: async () => ((await status()).database.reachable ? null : 'failed to connect to database')})
    for (const l of parseListen(conf.status_listen).filter((l) => !l.ssl)) {
      const server = createServer(statusApi)
      await listen(server, l.host, l.port, 'status_listen')
      servers.push(server)
    }
    await proxy.listen(parseListen(conf.proxy_listen)).catch((err: Error) => {
      throw new Error(err.message.replace(/^(could not listen on \S+?)(:)? /, '$1 (proxy_listen): ').replace('(proxy_listen): : ', '(proxy_listen): '))
    })
    listener = await pool.connect()
    listener.on('notification', () => void rebuild().catch((err) => log.error(`reloading configuration failed: ${err.message}`)))
    await listener.query(`LISTEN ${CONFIG_CHANNEL}`)
  } catch (err) {
    await close()
    throw err
  }
  log.notice(`node ${nodeId} started (role traditional, database postgres)`)
  return {nodeId, close}
}

async function checkDatabase(pgo: PgOptions): Promise<void> {
  let pending: string[]
  try {
    pending = await pendingMigrations(pgo)
  } catch (err) {
    throw new Error(describePgError(err, pgo))
  }
  if (pending.length) {
    throw new Error(`Database needs bootstrapping or is out of date (${pending.length} pending migration${pending.length > 1 ? 's' : ''}: ${pending.join(', ')}); run 'kctl init' or 'kctl start', which run the migrations`)
  }
}
