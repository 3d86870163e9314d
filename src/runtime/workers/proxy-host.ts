/**
 * Where a node's proxy runs: in the node's own process (`node_worker_processes = 1`, the
 * single-process path, no IPC), or in N worker processes that the node's primary feeds
 * (see pool.ts). Nodes talk to this interface only, so the Admin API, the DP's CP link
 * and the status listener stay in the primary whichever it is.
 */
import type pg from 'pg'
import type {NodeConf} from '../conf/defaults.js'
import type {Logger} from '../kit/log.js'
import {listenProxy} from './listen-proxy.js'
import {recordedMetrics, renderMetrics, type NodeGauges} from '../plugins/registry.js'
import {createProxy, proxyOptionsOf, type Proxy} from '../proxy/server.js'
import {buildSnapshot} from '../proxy/snapshot.js'
import {workerCount} from './count.js'
import type {ProxyHost} from './proxy-host-types.js'
import {createWorkerPool} from './pool.js'

export type {HealthView, HostStats, ProxyHost, WorkerStats} from './proxy-host-types.js'

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

/** `/metrics` of a proxy running in this process: what its prometheus plugin recorded, its targets' health. */
export const proxyMetrics = (proxy: Proxy, node?: NodeGauges): string => renderMetrics(recordedMetrics(proxy.pluginStates), proxy.current(), (u, t) => proxy.health.health(u, t), node)

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
    metrics: async (node) => proxyMetrics(proxy, node),
    close: () => proxy.close(),
  }
}
