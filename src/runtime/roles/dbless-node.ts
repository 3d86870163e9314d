/**
 * A DB-less traditional node (`database = off`): proxy + Admin API + status listener,
 * its configuration in memory, loaded from `declarative_config` at start and replaced
 * whole through `POST /config`.
 *
 *   start: node id ─► declarative_config? parse + validate + build (an invalid file stops
 *          the start, as in Kong) ─► listen (admin, status, proxy)
 *   POST /config: parse ─► validate every entity ─► build snapshot ─► swap (else 400)
 *   stop:  SIGTERM ─► stop accepting ─► drain
 *
 * `/status/ready` is 503 until a configuration is loaded.
 */
import {mkdirSync, readFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import {buildDbLessAdminApi} from '../admin/dbless-api.js'
import {publicConf} from '../conf/load.js'
import {adminGuiOrigins} from '../conf/admin-gui.js'
import type {NodeConf} from '../conf/defaults.js'
import {createDbLessConfig, type DbLessConfig} from '../declarative/dbless-config.js'
import {ConfigInvalid} from '../declarative/errors.js'
import {parseText} from '../declarative/source.js'
import type {Logger} from '../kit/log.js'
import {closeServer, listen} from '../listeners/bind.js'
import {nodeIdFor, type RunningNode} from './node.js'
import {listenProxy} from '../workers/listen-proxy.js'
import {parseListen} from '../proxy/listen.js'
import {headerPolicy} from '../proxy/kong-headers.js'
import {createProxy, proxyOptionsOf} from '../proxy/server.js'
import {buildSnapshot, type EntitySet} from '../proxy/snapshot.js'
import {connectionCounts, createStatusApi, serverStatus} from '../listeners/status-api.js'
import {listenStatus} from './status-listen.js'
import {workerCount} from '../workers/count.js'
import {proxyMetrics} from '../workers/proxy-host.js'

export async function startDbLessNode(conf: NodeConf, log: Logger): Promise<RunningNode> {
  mkdirSync(conf.prefix, {recursive: true})
  const nodeId = nodeIdFor(conf.prefix)
  // POST /config swaps synchronously here; feeding workers (workers/pool.ts) would need
  // the Admin API to wait for them, so a DB-less node proxies in one process for now.
  if (workerCount(conf.node_worker_processes) > 1) log.warn('node_worker_processes is not supported with database = off yet; proxying in 1 process')
  const proxy = createProxy({log: log.child({subsystem: 'proxy'}), ...proxyOptionsOf(conf)})
  const config = createDbLessConfig((entities) => buildSnapshot(entities as unknown as EntitySet), (snapshot) => proxy.swap(snapshot))
  if (conf.declarative_config) loadAtStart(config, conf.declarative_config, log)

  const servers: Server[] = []
  let closed: Promise<void> | undefined
  const close = () => (closed ??= Promise.all([proxy.close(), ...servers.map((s) => closeServer(s))]).then(() => {}))
  const status = async () => ({
    configuration_hash: config.hash(),
    server: serverStatus(proxy.stats?.()),
    memory: {rss_bytes: process.memoryUsage().rss},
  })
  const ready = async () => (config.current() ? null : 'no configuration available (empty configuration present)')
  const metrics = async () => proxyMetrics(proxy, {nodeId, connections: connectionCounts(proxy.stats())})
  try {
    const admin = buildDbLessAdminApi({metrics, nodeId, configuration: publicConf(conf), adminOrigins: adminGuiOrigins(conf.admin_gui_url), headers: headerPolicy(conf.headers, conf.headers_upstream), log: log.child({subsystem: 'admin'}), config, status, ready, health: {registry: proxy.health}, maxConfigEntities: conf.kctl_max_config_entities})
    for (const l of parseListen(conf.admin_listen).filter((l) => !l.ssl)) servers.push(await serve(admin, l, 'admin_listen'))
    const statusApi = createStatusApi({status, metrics, ready, log})
    servers.push(...(await listenStatus(conf, statusApi)))
    await listenProxy(proxy, conf)
  } catch (err) {
    await close()
    throw err
  }
  log.notice(`node ${nodeId} started (role traditional, database off, configuration ${config.hash()})`)
  return {nodeId, close}
}

async function serve(handler: Parameters<typeof createServer>[1], l: {host: string; port: number}, key: string): Promise<Server> {
  const server = createServer({keepAliveTimeout: 60_000}, handler)
  await listen(server, l.host, l.port, key)
  return server
}

/** @throws Error with Kong's wording when the file cannot be read or is invalid. */
function loadAtStart(config: DbLessConfig, path: string, log: Logger): void {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new Error(`error reading declarative config file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  try {
    const loaded = config.apply(parseText(path, text))
    for (const w of loaded.warnings) log.warn(w)
  } catch (err) {
    if (err instanceof ConfigInvalid) throw new Error(`error parsing declarative config file ${path}:\n${err.message}`)
    throw err
  }
}
