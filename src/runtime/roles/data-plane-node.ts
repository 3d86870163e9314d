/**
 * A data plane: proxy + status listener, no database, no Admin API. Its configuration
 * comes from the control plane; it is applied atomically (validate every entity, build
 * the whole snapshot, then swap) and cached on disk, so a restarted DP serves at once
 * from the cache, and keeps serving while the CP is away.
 *
 *   start: node id ─► cache? apply it (a bad cache is logged and ignored) ─► listen
 *          ─► connect to the CP (retries forever) ─► every reconfigure: apply ─► cache
 *
 * Incremental sync: the DP tells the CP the version it has; the CP sends the changes
 * since, which are applied to the running entity set (synced-config.ts; the hash must
 * come out as the CP's) and to the running proxy snapshot (only the router entries and
 * plugin plans of what changed, proxy/snapshot.ts updateSnapshot), and appended to the
 * cache's delta log. With `node_worker_processes` > 1 the workers still build each
 * configuration whole (they are sent entity sets, workers/pool.ts). A delta that does not fit
 * makes the DP ask again, for the whole configuration if need be.
 *
 * Kong's `kong.sync.v2` (cluster_rpc and cluster_incremental_sync on): the same, driven by
 * get_delta results instead of frames; their deltas carry no hash, so every hash is
 * computed here (SyncedConfig.prepareOwn), and the cache gets the same frames as above.
 */
import {mkdirSync} from 'node:fs'
import type {Server} from 'node:http'
import type {NodeConf} from '../conf/defaults.js'
import {CacheWriter, cachePath, readCache, readDeltaLog} from '../clustering/cache.js'
import {configHash, EMPTY_CONFIG_HASH, type ConfigHashes} from '../clustering/config-hash.js'
import {connectDataPlane, type ApplyResult} from '../clustering/data-plane.js'
import {exportConfig} from '../clustering/export.js'
import {decodeFrame, FrameError, type Change, type DecodedFrame} from '../clustering/frame.js'
import {encodeDelta, reconfigureJson} from '../clustering/protocol.js'
import {DeltaMismatch, SyncedConfig, type SyncedState} from '../clustering/synced-config.js'
import type {SyncV2Target} from '../clustering/data-plane-rpc.js'
import {changesOf, lastChanges, type SyncV2Result} from '../clustering/sync-v2.js'
import {exportRow} from '../clustering/export.js'
import {getSchema, toEntitySet, type EntitySet} from '../schema/registry.js'
import {gunzipSync} from 'node:zlib'
import {createFrameDecoder} from '../clustering/frame-decoder.js'
import {loadClusterTls} from '../clustering/tls.js'
import type {Logger} from '../kit/log.js'
import {closeServer} from '../listeners/bind.js'
import {nodeIdFor, type RunningNode} from './node.js'
import {buildSnapshot, updateSnapshot, type ProxySnapshot} from '../proxy/snapshot.js'
import {connectionCounts, createStatusApi} from '../listeners/status-api.js'
import {listenStatus} from './status-listen.js'
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
  let synced = new SyncedConfig()
  const counters = {deltas_applied: 0, full_syncs: 0, resyncs_requested: 0}
  let loggedDeltas = 0

  // the snapshot served: a delta changes a copy of it (updateSnapshot: the router and the
  // plugin plan of the changed routes only) instead of building everything again
  let served: ProxySnapshot | null = null
  const swapIn = async (entities: EntitySet, configHash: string, changes?: readonly Change[]) => {
    let snapshot: ProxySnapshot
    try {
      snapshot = changes && served ? updateSnapshot(served, entities, changes) : buildSnapshot(entities)
    } catch (err) {
      throw new FrameError('validate', (err as Error).message, configHash)
    }
    await proxy.apply(entities, snapshot)
    served = snapshot
    hash = configHash
    loaded = true
  }
  /** A whole configuration, or a delta onto the current one; the cache follows. */
  const take = async (decoded: DecodedFrame, bytes: Buffer | null): Promise<ApplyResult> => {
    if (decoded.kind === 'full') {
      if (decoded.msg.config_hash === hash && (decoded.msg.kctl_version ?? -1) === synced.version) return 'unchanged'
      if (decoded.msg.config_hash !== hash) await swapIn(decoded.entities, decoded.msg.config_hash)
      synced.loadFull(decoded)
      counters.full_syncs++
      warmSoon()
      if (bytes) persist.replace(bytes)
      clog.notice(`configuration ${hash} applied (version ${synced.version})`)
      return 'applied'
    }
    let next
    try {
      next = synced.prepareDelta(decoded)
    } catch (err) {
      if (!(err instanceof DeltaMismatch)) throw err
      counters.resyncs_requested++
      clog.warn(`${err.message}; asking the control plane for ${err.full ? 'the whole configuration' : `the changes since version ${synced.version}`}`)
      return {resync: {version: err.full ? -1 : synced.version, hash}}
    }
    await swapIn(next.entities, next.hash, decoded.changes)
    next.commit()
    counters.deltas_applied++
    if (bytes) persist.append(bytes, () => wholeFrame(next))
    clog.notice(`configuration ${hash} applied (version ${synced.version}, ${decoded.changes.length} change${decoded.changes.length === 1 ? '' : 's'})`)
    return 'applied'
  }
  // after a whole configuration, its hash marks are made once while idle, not by the first
  // delta, a slice at a time between the proxy's requests
  let warming: NodeJS.Timeout | undefined
  let warmingStep: NodeJS.Immediate | undefined
  const stopWarming = () => {
    clearTimeout(warming)
    clearImmediate(warmingStep)
  }
  const warmSoon = () => {
    stopWarming()
    warming = setTimeout(() => {
      const steps = synced.warming()
      const step = () => {
        const r = steps.next()
        if (!r.done) warmingStep = setImmediate(step)
        else if (r.value.length) clog.warn(`the ${r.value.join(', ')} of configuration ${hash} hash differently here than on the control plane; changes to them will be asked for whole`)
      }
      step()
    }, 200)
    warming.unref()
  }
  // the cache follows off the event loop, in order; `loggedDeltas` counts what was queued
  const writer = new CacheWriter(conf.prefix, (err) => clog.warn(`could not write the config cache: ${err.message}`))
  const persist = {
    /** Logs a delta; the log is folded into a new whole cache (`whole`) once it is long. */
    append(bytes: Buffer, whole: () => {json: string}) {
      void writer.append(bytes)
      if (++loggedDeltas >= COMPACT_AFTER) persist.replace(whole())
    },
    replace(frame: Buffer | {json: string}) {
      loggedDeltas = 0
      void writer.replace(frame)
    },
  }

  /** kong.sync.v2: after changes that did not fit, the next get_delta asks for everything. */
  let wantFull = false
  /** A configuration to cache whole: its hashes computed when the state has none (a delta's, from a kctl CP). */
  const wholeFrame = (s: SyncedState & {hashes?: ConfigHashes}) => {
    const table = exportConfig(s.entities)
    return {json: reconfigureJson({timestamp: Date.now() / 1000, config_table: table, config_hash: s.hash, hashes: s.hashes ?? configHash(table), kctl_version: s.version})}
  }
  const refused = (why: string): 'resync' => {
    counters.resyncs_requested++
    wantFull = true
    clog.error(`[kong.sync.v2] rejected changes from the control plane: ${why}; asking for the whole configuration`)
    return 'resync'
  }
  /** A get_delta result: a full sync replaces everything, deltas change what they name. */
  const takeV2 = async (result: SyncV2Result): Promise<'applied' | 'resync'> => {
    let read: ReturnType<typeof changesOf>
    try {
      read = changesOf(result.deltas)
    } catch (err) {
      if (result.wipe) throw new Error(`rejected a full sync, still serving ${hash}: ${(err as Error).message}`)
      return refused((err as Error).message)
    }
    const {changes, version, skipped} = read
    if (skipped.length) clog.debug(`[kong.sync.v2] skipping ${skipped.join(', ')} (no such entities here)`)
    for (const c of changes) clog.debug(`[kong.sync.v2] ${c.entity ? 'update' : 'delete'} entity, version: ${version}, type: ${c.kind}`)
    if (result.wipe) {
      const rows: Record<string, Array<Record<string, unknown>>> = {}
      for (const c of changes) if (c.entity) (rows[c.kind] ??= []).push(c.entity)
      const fresh = new SyncedConfig()
      const state = fresh.loadOwn(toEntitySet(rows), version)
      if (state.hash !== hash) await swapIn(state.entities, state.hash)
      stopWarming()
      synced = fresh
      wantFull = false
      counters.full_syncs++
      persist.replace(wholeFrame(state))
      clog.notice(`configuration ${hash} applied (version ${version}, full sync)`)
      return 'applied'
    }
    const last = lastChanges(changes)
    let next
    try {
      next = synced.prepareOwn(last, version)
      await swapIn(next.entities, next.hash, last)
    } catch (err) {
      if (err instanceof DeltaMismatch || err instanceof FrameError) return refused(err.message)
      throw err
    }
    const from = synced.version
    next.commit()
    counters.deltas_applied++
    const logged = {from, version, deltas: last.map((c) => ({kind: c.kind, id: c.id, entity: c.entity && exportRow(getSchema(c.kind)!, c.entity)})), config_hash: next.hash, hashes: next.hashes, kctl_digest: next.digest}
    persist.append(encodeDelta(logged), () => wholeFrame(next))
    clog.notice(`configuration ${hash} applied (version ${version}, ${last.length} change${last.length === 1 ? '' : 's'})`)
    return 'applied'
  }

  // frames from the CP are decoded and validated on another thread; the cache, read before
  // anything is served, here. Frames are taken one at a time, in the order they came.
  const decoder = createFrameDecoder()
  let queue: Promise<unknown> = Promise.resolve()
  const apply = (frame: Buffer): Promise<ApplyResult> => {
    const decoding = decoder.decode(frame)
    const run = queue.then(
      () => decoding.then((d) => take(d, frame)),
      () => decoding.then((d) => take(d, frame)),
    )
    queue = run.catch(() => {})
    return run.catch((err) => {
      // a delta that does not validate: the whole configuration is asked for
      if (err instanceof FrameError && err.stage === 'validate' && isDelta(frame)) {
        counters.resyncs_requested++
        clog.error(`rejected changes from the control plane: ${err.message}; asking for the whole configuration`)
        return {resync: {version: -1, hash}}
      }
      throw err
    })
  }

  const cached = readCache(conf.prefix)
  if (cached) {
    try {
      await take(decodeFrame(cached), null)
      let replayed = 0
      for (const bytes of readDeltaLog(conf.prefix)) {
        const d = decodeFrame(bytes)
        if (d.kind !== 'delta' || d.msg.from !== synced.version) continue
        if (typeof (await take(d, null)) === 'object') break
        replayed++
      }
      loggedDeltas = replayed
      counters.full_syncs = 0
      counters.deltas_applied = 0
      clog.notice(`serving configuration ${hash} (version ${synced.version}) from ${cachePath(conf.prefix)}${replayed ? ` and ${replayed} logged change set${replayed === 1 ? '' : 's'}` : ''} until the control plane answers`)
    } catch (err) {
      clog.error(`ignoring the config cache ${cachePath(conf.prefix)}: ${(err as Error).message}; waiting for the control plane`)
    }
  }

  // one configuration change at a time, whichever protocol brings it
  const syncV2: SyncV2Target = {
    version: () => (wantFull || !synced.current() ? 0 : Math.max(0, synced.version)),
    apply(result) {
      const run = queue.then(
        () => takeV2(result),
        () => takeV2(result),
      )
      queue = run.catch(() => {})
      return run
    },
  }
  const link = connectDataPlane({conf, tls, nodeId, log: clog, currentHash: () => hash, position: () => ({version: synced.version, hash}), apply, syncV2})
  const servers: Server[] = []
  let closed: Promise<void> | undefined
  const close = () =>
    (closed ??= (async () => {
      link.close()
      stopWarming()
      await Promise.all([proxy.close(), decoder.close(), writer.idle(), ...servers.map((s) => closeServer(s))])
    })())
  const status = async () => ({
    configuration_hash: hash,
    // incremental sync: the version served and how this DP got its configurations
    sync: {version: synced.version, ...counters},
    control_plane: {connected: link.connected(), address: link.address(), failed_attempts: link.failedAttempts()},
    // the certificate this process presents to its control plane
    cluster_certificate: {fingerprint_sha256: tls.fingerprint256.replaceAll(':', '').toLowerCase(), expiry_timestamp: tls.expiresAt},
    server: await proxy.stats(),
    memory: {rss_bytes: process.memoryUsage().rss},
  })
  try {
    const metrics = async () => proxy.metrics({nodeId, controlPlaneConnected: link.connected(), clusterCertExpiry: tls.expiresAt, connections: connectionCounts(await proxy.stats())})
    const ready = async () => (loaded ? proxy.notReady() : 'no configuration available (empty configuration present)')
    const statusApi = createStatusApi({status, metrics, ready, log})
    servers.push(...(await listenStatus(conf, statusApi)))
    await proxy.listen()
  } catch (err) {
    await close()
    throw err
  }
  link.start()
  log.notice(`node ${nodeId} started (role data_plane, control plane ${conf.cluster_control_plane})`)
  return {nodeId, close}
}

/** Delta sets logged before the log is folded into a new whole cache. */
const COMPACT_AFTER = 1000

/** Whether a frame is a delta (only read when one was refused). */
function isDelta(frame: Buffer): boolean {
  try {
    return JSON.parse(gunzipSync(frame).toString('utf8'))?.type === 'kctl_delta'
  } catch {
    return false
  }
}
