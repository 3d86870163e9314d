/**
 * A gateway node with a database: `traditional` (Admin API + proxy) or `control_plane`
 * (Admin API + cluster listener, no proxy). DB-less nodes start in dbless-node.ts, data
 * planes in data-plane-node.ts.
 *
 *   start:  conf ─► node id ─► Postgres reachable? ─► migrations current? ─► load config
 *           ─► build proxy snapshot ─► listen (proxy, admin, status) ─► LISTEN for changes
 *   change: Admin API write (or NOTIFY from another node) ─► reload ─► build ─► swap
 *           (a control plane reads only the changes since its version, and pushes them)
 *   stop:   SIGTERM ─► stop accepting ─► drain in-flight requests ─► close pool
 */
import {mkdirSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import {buildAdminApi} from '../admin/server.js'
import {publicConf} from '../conf/load.js'
import {adminGuiOrigins} from '../conf/admin-gui.js'
import type {NodeConf} from '../conf/defaults.js'
import {coalesce} from '../db/load-entities.js'
import {loadVersionedEntities, pruneVersions, readChangesSince} from '../db/sync-deltas.js'

/** Versions between two prunings of the configuration history. */
const PRUNE_EVERY = 100
import {listenForChanges, type ChangeListener} from '../db/change-listener.js'
import {CONFIG_CHANNEL} from '../db/dao.js'
import {pendingMigrations} from '../db/migrations.js'
import {createPool, describePgError, pgOptions, type PgOptions} from '../db/pool.js'
import type {Logger} from '../kit/log.js'
import {closeServer, listen} from '../listeners/bind.js'
import {parseListen} from '../proxy/listen.js'
import {headerPolicy} from '../proxy/kong-headers.js'
import {createControlPlane, type Publication} from '../clustering/control-plane.js'
import {toChange} from '../clustering/frame.js'
import {SyncedConfig} from '../clustering/synced-config.js'
import {loadClusterTls} from '../clustering/tls.js'
import {nodeIdFor, type RunningNode} from './node.js'
import {connectionCounts, createStatusApi, serverStatus} from '../listeners/status-api.js'
import {allDataPlanes} from '../clustering/data-planes.js'
import {renderMetrics} from '../plugins/registry.js'
import {listenStatus} from './status-listen.js'
import {createProxyHost} from '../workers/proxy-host.js'

/** What a control plane's exporter reads of a configuration it does not serve. */
const NOTHING_SERVED = {plugins: [], upstreams: []}

export async function startDatabaseNode(conf: NodeConf, log: Logger): Promise<RunningNode> {
  mkdirSync(conf.prefix, {recursive: true})
  const nodeId = nodeIdFor(conf.prefix)
  const isCp = conf.role === 'control_plane'
  const tls = isCp ? loadClusterTls(conf) : null
  const pgo = pgOptions(conf)
  await checkDatabase(pgo)
  const pool = createPool(pgo)
  const servers: Server[] = []
  let listener: ChangeListener | undefined
  let closed: Promise<void> | undefined
  // The proxy runs here or in `node_worker_processes` workers (workers/pool.ts); a CP has none.
  const proxy = isCp ? null : createProxyHost(conf, log, pool)
  const cp = tls ? createControlPlane(conf, pool, tls, log.child({subsystem: 'clustering'})) : null
  let configVersion = 0

  // a control plane's configuration: read whole once, then following the database's
  // history of changes (one route changed at 10,000 routes is read, hashed and sent alone)
  const own = cp ? new SyncedConfig() : null
  const follow = async (): Promise<Publication | null> => {
    if (!own || own.version < 0 || own.expiredBy(Date.now() / 1000)) return null
    const from = own.version
    const read = await readChangesSince(pool, from).catch((err) => {
      log.warn(`reading the configuration's changes since version ${from} failed (${(err as Error).message}); reading all of it`)
      return null
    })
    if (!read) return null
    return {...own.applyOwn(read.deltas.map((d) => toChange(d, `${d.kind} ${d.id}`, false)), read.version), changes: {from, deltas: read.deltas}}
  }

  let pruned = 0
  /** The configuration version this node serves (or, on a control plane, publishes). */
  let applied = 0
  /** The highest version a change notification named; `force`: the next run reads whatever it is. */
  let notified = 0
  let force = false
  // one run at a time; a run a notification asked for reads nothing when a run meanwhile
  // brought that version (the node's own Admin API write, followed before its NOTIFY came)
  const run = coalesce(async () => {
    if (!force && notified <= applied) return
    force = false
    let version: number
    const followed = await follow()
    if (followed) {
      version = followed.version
      await cp!.publish(followed)
    } else {
      const loaded = await loadVersionedEntities(pool)
      version = loaded.version
      await proxy?.apply(loaded.entities)
      if (cp) await cp.publish(own!.loadOwn(loaded.entities, version))
    }
    configVersion++
    applied = Math.max(applied, version)
    // the history of changes stays bounded (every node of the cluster may prune; it is idempotent)
    if (version - pruned >= Math.min(PRUNE_EVERY, conf.kctl_cluster_sync_history)) {
      pruned = version
      await pruneVersions(pool, version, conf.kctl_cluster_sync_history).catch((err) => log.warn(`pruning the configuration history failed: ${(err as Error).message}`))
    }
  })
  /** Reads the configuration's changes now (a write through this node's Admin API, the start). */
  const rebuild = (): Promise<void> => {
    force = true
    return run()
  }
  /** A change notification: read it unless this node has that version already. */
  const onNotify = (version: number | undefined): void => {
    if (version !== undefined && version <= applied) return
    if (version === undefined) force = true
    else notified = Math.max(notified, version)
    void run().catch((err) => log.error(`reloading configuration failed: ${err.message}`))
  }

  const close = () =>
    (closed ??= (async () => {
      await Promise.all([proxy?.close(), cp?.close(), ...servers.map((s) => closeServer(s))])
      listener?.close()
      await pool.end().catch(() => {})
    })())

  try {
    await rebuild()
    const status = async () => ({
      database: {reachable: await pool.query('SELECT 1').then(() => true, () => false)},
      server: serverStatus(await proxy?.stats()),
      memory: {rss_bytes: process.memoryUsage().rss},
      configuration_version: configVersion,
      ...(cp ? cp.status() : {}),
    })
    const ready = async () => ((await pool.query('SELECT 1').then(() => true, () => false)) ? proxy?.notReady() ?? null : 'failed to connect to database')
    const reachable = () => pool.query('SELECT 1').then(() => true, () => false)
    // a control plane proxies nothing: its /metrics are the node's and its data planes' gauges, as Kong's
    const metrics = proxy
      ? async () => proxy.metrics({nodeId, datastoreReachable: await reachable(), connections: connectionCounts(await proxy.stats())})
      : async () => renderMetrics(undefined, NOTHING_SERVED, () => undefined, {nodeId, datastoreReachable: await reachable(), dataPlanes: await allDataPlanes(pool)})
    const adminLog = log.child({subsystem: 'admin'})
    const admin = buildAdminApi({pool, nodeId, configuration: publicConf(conf), adminOrigins: adminGuiOrigins(conf.admin_gui_url), headers: headerPolicy(conf.headers, conf.headers_upstream), log: adminLog, onChange: rebuild, status, ready, controlPlane: isCp, health: proxy?.health(), maxConfigEntities: conf.kctl_max_config_entities, workerPids: async () => (await proxy?.stats())?.workers?.map((w) => w.pid) ?? [], metrics})
    for (const l of parseListen(conf.admin_listen).filter((l) => !l.ssl)) {
      const server = createServer({keepAliveTimeout: 60_000}, admin)
      await listen(server, l.host, l.port, 'admin_listen')
      servers.push(server)
    }
    const statusApi = createStatusApi({status, metrics, ready, log})
    servers.push(...(await listenStatus(conf, statusApi)))
    await proxy?.listen()
    await cp?.listen()
    listener = await listenForChanges(pool, CONFIG_CHANNEL, onNotify, log)
  } catch (err) {
    await close()
    throw err
  }
  log.notice(`node ${nodeId} started (role ${conf.role}, database postgres)`)
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
