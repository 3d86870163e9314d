/**
 * Where a node's proxy runs: in the node's own process (`node_worker_processes = 1`, the
 * single-process path, no IPC), or in N worker processes that the node's primary feeds
 * (see pool.ts). Nodes talk to this interface only, so the Admin API, the DP's CP link
 * and the status listener stay in the primary whichever it is.
 */
import type pg from 'pg'
import type {NodeConf} from '../conf/defaults.js'
import type {EntityArrays} from '../config-loader.js'
import type {Logger} from '../log.js'
import {listenProxy} from './listen-proxy.js'
import {renderMetrics, type NodeGauges} from '../plugins/prometheus/exporter.js'
import type {HealthRegistry} from '../proxy/health/registry.js'
import {createProxy, proxyOptionsOf, type ProxyStats} from '../proxy/server.js'
import {buildSnapshot, type ProxySnapshot} from '../proxy/snapshot.js'
import {workerCount} from './count.js'
import {createWorkerPool} from './pool.js'

export interface WorkerStats extends ProxyStats {
  pid: number
}

export interface HostStats extends ProxyStats {
  /** Per worker process; absent when the node proxies in its own process. */
  workers?: WorkerStats[]
}

/**
 * Target health as the node can tell it: the registry of its one proxy process, or why
 * it cannot (several worker processes each keep their own, see pool.ts).
 */
export type HealthView = {registry: HealthRegistry} | {unavailable: string}

export interface ProxyHost {
  /**
   * Makes `entities` the configuration every proxy process serves; resolves once all of
   * them serve it. `built` is the snapshot of `entities` when the caller already built it.
   * @throws Error when the configuration does not build; nothing changes then.
   */
  apply(entities: EntityArrays, built?: ProxySnapshot): Promise<void>
  /** Opens `proxy_listen`; rejects naming the key when it cannot. */
  listen(): Promise<void>
  /** null when every proxy process listens and serves the latest configuration. */
  notReady(): string | null
  stats(): Promise<HostStats>
  health(): HealthView
  /** Prometheus text, summed over the proxy processes. */
  metrics(node?: NodeGauges): Promise<string>
  /** Stops accepting, drains in-flight requests, stops the workers. Idempotent. */
  close(): Promise<void>
}

/**
 * `database`: the node's pool, for plugins that keep data in Postgres (rate-limiting's
 * cluster policy). The in-process proxy uses it; each worker opens its own pool to the
 * same database instead. Absent on nodes without a database.
 * @throws Error when `node_worker_processes` is invalid.
 */
export function createProxyHost(conf: NodeConf, log: Logger, database?: pg.Pool): ProxyHost {
  const count = workerCount(conf.node_worker_processes)
  return count > 1 ? createWorkerPool({conf, log, count, database: database !== undefined}) : createInProcessHost(conf, log, database)
}

/** The single-process path: the proxy in this process, swapped synchronously. */
export function createInProcessHost(conf: NodeConf, log: Logger, database?: pg.Pool): ProxyHost {
  const proxy = createProxy({log: log.child({subsystem: 'proxy'}), database, ...proxyOptionsOf(conf)})
  return {
    async apply(entities, built) {
      proxy.swap(built ?? buildSnapshot(entities))
    },
    listen: () => listenProxy(proxy, conf),
    notReady: () => null,
    stats: async () => proxy.stats(),
    health: () => ({registry: proxy.health}),
    metrics: async (node) => renderMetrics(proxy.pluginState, proxy.current(), (u, t) => proxy.health.health(u, t), node),
    close: () => proxy.close(),
  }
}
