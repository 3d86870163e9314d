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
import type {NodeConf} from '../conf/defaults.js'
import {cachePath, readCache} from '../clustering/cache.js'
import {EMPTY_CONFIG_HASH} from '../clustering/config-hash.js'
import {connectDataPlane} from '../clustering/data-plane.js'
import {decodeFrame, FrameError, type DecodedFrame} from '../clustering/frame.js'
import {createFrameDecoder} from '../clustering/frame-decoder.js'
import {loadClusterTls} from '../clustering/tls.js'
import type {Logger} from '../kit/log.js'
import {closeServer, listen} from '../listeners/bind.js'
import {nodeIdFor, type RunningNode} from './node.js'
import {parseListen} from '../proxy/listen.js'
import {buildSnapshot, type ProxySnapshot} from '../proxy/snapshot.js'
import {createStatusApi} from '../listeners/status-api.js'
import {createProxyHost} from '../workers/proxy-host.js'

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

  // frames from the CP are decoded and validated on another thread; the cache, read before
  // anything is served, here
  const decoder = createFrameDecoder()
  const swapIn = async ({msg, entities}: DecodedFrame) => {
    let snapshot: ProxySnapshot
    try {
      snapshot = buildSnapshot(entities)
    } catch (err) {
      throw new FrameError('validate', (err as Error).message, msg.config_hash)
    }
    await proxy.apply(entities, snapshot)
    hash = msg.config_hash
    loaded = true
    clog.notice(`configuration ${hash} applied`)
  }
  const apply = async (frame: Buffer): Promise<'applied' | 'unchanged'> => {
    const decoded = await decoder.decode(frame)
    if (decoded.msg.config_hash === hash) return 'unchanged'
    await swapIn(decoded)
    return 'applied'
  }

  const cached = readCache(conf.prefix)
  if (cached) {
    try {
      await swapIn(decodeFrame(cached))
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
      await Promise.all([proxy.close(), decoder.close(), ...servers.map((s) => closeServer(s))])
    })())
  const status = async () => ({
    configuration_hash: hash,
    control_plane: {connected: link.connected(), address: link.address(), failed_attempts: link.failedAttempts()},
    server: await proxy.stats(),
    memory: {rss_bytes: process.memoryUsage().rss},
  })
  try {
    const metrics = () => proxy.metrics({controlPlaneConnected: link.connected(), clusterCertExpiry: tls.expiresAt})
    const ready = async () => (loaded ? proxy.notReady() : 'no configuration available (empty configuration present)')
    const statusApi = createStatusApi({status, metrics, ready, log})
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
