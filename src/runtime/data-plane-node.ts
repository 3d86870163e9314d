/**
 * A data plane: proxy + status listener, no database, no Admin API. Its configuration
 * comes from the control plane; it is applied atomically (validate every entity, build
 * the whole snapshot, then swap) and cached on disk, so a restarted DP serves at once
 * from the cache, and keeps serving while the CP is away.
 *
 *   start: node id ─► cache? apply it (a bad cache is logged and ignored) ─► listen
 *          ─► connect to the CP (retries forever) ─► every reconfigure: apply ─► cache
 */
import {mkdirSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import type {NodeConf} from './conf/defaults.js'
import {cachePath, readCache} from './clustering/cache.js'
import {EMPTY_CONFIG_HASH} from './clustering/config-hash.js'
import {connectDataPlane} from './clustering/data-plane.js'
import {importConfig} from './clustering/export.js'
import {decodeReconfigure, type Reconfigure} from './clustering/protocol.js'
import {loadClusterTls} from './clustering/tls.js'
import type {Logger} from './log.js'
import {closeServer, listen} from './net.js'
import {nodeIdFor, type RunningNode} from './node.js'
import {parseListen} from './proxy/listen.js'
import {buildSnapshot, type EntitySet} from './proxy/snapshot.js'
import {getSchema} from './schema/registry.js'
import {validateEntity} from './schema/validate.js'
import {createStatusApi} from './status.js'
import {createProxyHost} from './workers/proxy-host.js'

/** Every entity must pass its schema before anything is swapped in. */
function validateAll(entities: Record<string, Record<string, any>[]>): void {
  for (const [name, rows] of Object.entries(entities)) {
    const schema = getSchema(name)!
    for (const row of rows) {
      try {
        validateEntity(schema, row)
      } catch (err) {
        throw new Error(`${schema.singular} ${row.id}: ${(err as Error).message}`)
      }
    }
  }
}

export async function startDataPlaneNode(conf: NodeConf, log: Logger): Promise<RunningNode> {
  mkdirSync(conf.prefix, {recursive: true})
  const nodeId = nodeIdFor(conf.prefix)
  const tls = loadClusterTls(conf)
  // The proxy runs here or in `node_worker_processes` workers; this process stays the one
  // config agent (CP link, cache) and hands each config to them (workers/pool.ts).
  const proxy = createProxyHost(conf, log)
  const clog = log.child({subsystem: 'clustering'})
  let hash = EMPTY_CONFIG_HASH
  let loaded = false

  const apply = async (msg: Reconfigure) => {
    const entities = importConfig(msg.config_table)
    validateAll(entities)
    await proxy.apply(entities, buildSnapshot(entities as unknown as EntitySet))
    hash = msg.config_hash
    loaded = true
    clog.notice(`configuration ${hash} applied`)
  }

  const cached = readCache(conf.prefix)
  if (cached) {
    try {
      await apply(decodeReconfigure(cached))
      clog.notice(`serving configuration ${hash} from ${cachePath(conf.prefix)} until the control plane answers`)
    } catch (err) {
      clog.error(`ignoring the config cache ${cachePath(conf.prefix)}: ${(err as Error).message}; waiting for the control plane`)
    }
  }

  const link = connectDataPlane({conf, tls, nodeId, log: clog, currentHash: () => hash, apply})
  const servers: Server[] = []
  let closed: Promise<void> | undefined
  const close = () =>
    (closed ??= (async () => {
      link.close()
      await Promise.all([proxy.close(), ...servers.map((s) => closeServer(s))])
    })())
  const status = async () => ({
    configuration_hash: hash,
    control_plane: {connected: link.connected(), address: conf.cluster_control_plane},
    server: await proxy.stats(),
    memory: {rss_bytes: process.memoryUsage().rss},
  })
  try {
    const metrics = () => proxy.metrics({controlPlaneConnected: link.connected(), clusterCertExpiry: tls.expiresAt})
    const ready = async () => (loaded ? proxy.notReady() : 'no configuration available (empty configuration present)')
    const statusApi = createStatusApi({status, metrics, ready})
    for (const l of parseListen(conf.status_listen).filter((l) => !l.ssl)) {
      const server = createServer(statusApi)
      await listen(server, l.host, l.port, 'status_listen')
      servers.push(server)
    }
    await proxy.listen()
  } catch (err) {
    await close()
    throw err
  }
  link.start()
  log.notice(`node ${nodeId} started (role data_plane, control plane ${conf.cluster_control_plane})`)
  return {nodeId, close}
}
