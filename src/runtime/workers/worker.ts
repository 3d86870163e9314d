/**
 * A proxy worker process: runs the proxy only, with the configurations its primary
 * sends (see pool.ts for the lifecycle). It takes traffic only once its first
 * configuration is built, so a restarted worker never serves an empty or old config.
 */
import type pg from 'pg'
import type {NodeConf} from '../conf/defaults.js'
import {createPool, pgOptions} from '../db/pool.js'
import {createLogger, isLogLevel, type Logger} from '../kit/log.js'
import {listenProxy} from './listen-proxy.js'
import {createProxy, proxyOptionsOf, type Proxy} from '../proxy/server.js'
import {recordedMetrics} from '../plugins/registry.js'
import {buildSnapshot} from '../proxy/snapshot.js'
import type {EntityArrays} from '../db/load-entities.js'
import type {FromWorker, ToWorker} from './messages.js'

/** Connections at most per worker (the plugins' counters); the primary keeps pg_pool_size. */
const WORKER_POOL_SIZE = 4

const send = (msg: FromWorker) => process.send?.(msg)

/** Starts the worker side; call once, in a process forked by the pool. */
export function runWorker(): void {
  let proxy: Proxy | null = null
  let database: pg.Pool | undefined
  let conf: NodeConf | null = null
  let log: Logger = createLogger()
  let listening = false
  let stopping: Promise<void> | null = null

  const stop = (code: number) =>
    (stopping ??= (proxy?.close() ?? Promise.resolve())
      .then(() => database?.end())
      .catch(() => {})
      .finally(() => process.exit(code)))

  const configure = (version: number, entities: EntityArrays) => {
    try {
      proxy!.swap(buildSnapshot(entities))
    } catch (err) {
      send({type: 'apply-failed', version, message: (err as Error).message})
      return
    }
    send({type: 'applied', version})
    if (listening) return
    listening = true
    listenProxy(proxy!, conf!).then(
      () => send({type: 'listening'}),
      (err: Error) => {
        send({type: 'failed', message: err.message})
        void stop(1)
      },
    )
  }

  process.on('message', (msg: ToWorker) => {
    if (stopping) return
    switch (msg.type) {
      case 'init':
        conf = msg.conf
        log = createLogger({level: isLogLevel(conf.log_level) ? conf.log_level : 'notice', bindings: {worker: process.pid}})
        // pg connects on the first query: a worker whose plugins never use it costs nothing.
        // Its pool is small (counters only), so N workers stay well inside max_connections.
        if (msg.database) database = createPool({...pgOptions(conf), poolSize: Math.min(conf.pg_pool_size, WORKER_POOL_SIZE)})
        proxy = createProxy({log: log.child({subsystem: 'proxy'}), database, ...proxyOptionsOf(conf)})
        return
      case 'config':
        return configure(msg.version, msg.entities)
      case 'report':
        return void send({type: 'report', id: msg.id, stats: proxy!.stats(), metrics: recordedMetrics(proxy!.pluginStates)?.dump() ?? null})
      case 'drain':
        return void stop(0)
    }
  })
  process.on('uncaughtException', (err) => {
    log.error(`proxy worker crashed: ${err.stack ?? err.message}`)
    process.exit(1)
  })
  // Ctrl-C reaches the whole process group; the primary drains us, in order.
  process.on('SIGINT', () => {})
  process.on('SIGTERM', () => void stop(0))
  // The primary is gone (even SIGKILLed): nobody would feed or restart us.
  process.on('disconnect', () => void stop(0))
  send({type: 'hello'})
}
