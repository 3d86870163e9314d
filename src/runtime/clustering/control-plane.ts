/**
 * The control plane's side of the cluster: an mTLS WebSocket listener on
 * `cluster_listen`, one Peer per connected data plane, and `publish()` which builds the
 * payload ONCE per configuration and sends the same bytes to every eligible DP.
 *
 *   upgrade ─► path/query ok? ─► peer certificate ok? ─► version ok? ─► wait basic_info
 *           ─► plugins ok? ─► send current payload ─► pings refresh last_seen/hash
 *
 * With `cluster_rpc = on` the same listener serves Kong's `/v2/outlet` (rpc-outlet.ts);
 * every published version is announced there too.
 */
import {createServer, type Server} from 'node:https'
import {parseTarget} from '../listeners/request-target.js'
import type {IncomingMessage} from 'node:http'
import type {Duplex} from 'node:stream'
import type {TLSSocket} from 'node:tls'
import type pg from 'pg'
import {WebSocketServer, type WebSocket} from 'ws'
import type {NodeConf} from '../conf/defaults.js'
import type {Logger} from '../kit/log.js'
import {closeServer, listen} from '../listeners/bind.js'
import {bundledPlugins} from '../plugins/registry.js'
import {isUuid, nowSeconds} from '../schema/validate.js'
import {GATEWAY_VERSION} from '../kit/version.js'
import {checkPlugins, checkVersion, type Verdict} from './compat.js'
import {EMPTY_CONFIG_HASH, type ConfigHashes} from './config-hash.js'
import {purgeExpired} from './data-planes.js'
import {createDataPlaneRecorder} from './dp-recorder.js'
import {exportConfig} from './export.js'
import {readDeltas, type Delta} from '../db/sync-deltas.js'
import type {EntitySet} from '../schema/registry.js'
import {RPC_OUTLET_PATH} from './rpc.js'
import {createRpcOutlet} from './rpc-outlet.js'
import type {OwnState} from './synced-config.js'
import {decodeBasicInfo, decodeGetDelta, encodeDelta, encodeReconfigure, OUTLET_PATH, SyncStatus, type BasicInfo, type SyncPosition} from './protocol.js'
import {certExpiry, checkPeer, peerFingerprint, type ClusterTls} from './tls.js'
import {parseListen} from '../proxy/listen.js'

interface Peer {
  id: string
  hostname: string
  ip: string
  version: string
  ws: WebSocket
  info?: BasicInfo
  lastSeen: number
  configHash: string
  status: string
  certExpiry?: number
  /**
   * Where the DP is (or will be once it applied what was sent): its configuration version
   * and hash. Absent for a DP that does not sync incrementally (it gets whole configurations).
   */
  sync?: SyncPosition
  /** Sends to this DP one after another (a catch-up reads the database first). */
  chain: Promise<void>
  /** Sends queued on `chain` and not finished; none: the next one may go at once. */
  queued: number
  /** When the last whole configuration went to this DP, and its hash. */
  lastFull?: {at: number; hash: string}
  /** A whole configuration held back (see FULL_PUSH_GAP_MS). */
  fullTimer?: NodeJS.Timeout
}

interface Payload {
  /** The whole configuration's frame, encoded once (after the deltas went out); null: over cluster_max_payload. */
  full(): Buffer | null
  /** The configuration version (clustering_sync_version) this configuration is at. */
  version: number
  /** The changes from the previous payload's version to this one, encoded once for every DP that had it. */
  delta: {from: number; bytes: Buffer} | null
  hash: string
  hashes: ConfigHashes
  /** The configuration's digest (synced-config.ts), sent with every delta. */
  digest: string
  /** Plugins the configuration uses, name → version. */
  plugins: Map<string, string>
}

/** A configuration to push: the control plane's own (synced-config.ts), and the changes that led to it when they are known. */
export interface Publication extends OwnState {
  changes?: {from: number; deltas: Delta[]}
}

const DONE: Promise<void> = Promise.resolve()

/** How long changes must pause before the whole configuration is compressed to check its size. */
const SIZE_CHECK_AFTER_MS = 500

/**
 * A DP that gets whole configurations (an older kctl, incremental sync off, or too far
 * behind) gets at most one per this many ms: during a burst of changes the next one waits
 * and carries every change made meanwhile, so a burst of writes costs such a DP a few
 * rebuilds, not one per write. Deltas are never held back.
 */
const FULL_PUSH_GAP_MS = 200

export interface ControlPlane {
  listen(): Promise<void>
  /**
   * Pushes a configuration to every eligible DP: the changes since the DP's version when it
   * syncs incrementally, else the whole of it (exported and compressed once, when first
   * needed). Resolves once every frame is queued.
   */
  publish(config: Publication): Promise<void>
  status(): {configuration_hash: string; configuration_sync_version: number; connected_data_planes: number; last_push_error: string | null; sync: {deltas_sent: number; full_syncs_sent: number}}
  close(): Promise<void>
}

export function createControlPlane(conf: NodeConf, pool: pg.Pool, tls: ClusterTls, log: Logger): ControlPlane {
  const peers = new Set<Peer>()
  const pingWaitMs = conf.cluster_ping_interval * 1500
  const wss = new WebSocketServer({noServer: true, maxPayload: 4 * 1024 * 1024, perMessageDeflate: false})
  let payload: Payload | null = null
  let lastPushError: string | null = null
  let sizeCheck: NodeJS.Timeout | undefined
  const servers: Server[] = []

  const recorder = createDataPlaneRecorder(pool, conf.cluster_data_plane_purge_delay, log)
  /** The configuration published last (a full sync over RPC sends it). */
  let published: {entities: EntitySet; version: number} | null = null
  const rpc = conf.cluster_rpc ? createRpcOutlet({conf, pool, tls, log, recorder, published: () => published}) : null
  const record = (p: Peer) =>
    recorder.mark({id: p.id, hostname: p.hostname, ip: p.ip, last_seen: p.lastSeen, config_hash: p.configHash, version: p.version, sync_status: p.status, labels: p.info?.labels ?? {}, cert_details: p.certExpiry ? {expiry_timestamp: p.certExpiry} : {}, rpc_capabilities: rpc?.capabilitiesOf(p.id) ?? []})

  function eligibility(p: Peer): Verdict {
    const version = checkVersion(GATEWAY_VERSION, p.version)
    if (version.reason || !payload || !p.info) return version
    return checkPlugins(payload.plugins, p.info.plugins)
  }

  const counters = {deltas_sent: 0, full_syncs_sent: 0}

  /**
   * Queues what brings `p` to the current payload (see Peer.chain). With nothing queued
   * for `p` and its frame at hand (the delta every DP that had the previous payload gets),
   * it is sent at once: publish() then writes to every DP in one pass, without a promise
   * chain and an await per DP.
   */
  function send(p: Peer): Promise<void> {
    if (p.queued === 0) {
      const sent = sendNow(p)
      if (!sent) return DONE
      return track(p, sent)
    }
    return track(
      p,
      p.chain.then(
        () => sendNow(p),
        () => sendNow(p),
      ),
    )
  }

  function track(p: Peer, sending: Promise<void>): Promise<void> {
    p.queued++
    p.chain = sending.finally(() => p.queued--)
    return p.chain
  }

  /** Sends `p` what it lacks; a promise only when the changes must be read from the database first. */
  function sendNow(p: Peer): Promise<void> | void {
    const current = payload
    if (!current || !p.info || p.ws.readyState !== p.ws.OPEN) return
    const verdict = eligibility(p)
    if (verdict.status !== p.status) {
      p.status = verdict.status
      void record(p)
    }
    if (verdict.reason) {
      log.warn(`not pushing configuration ${current.hash} to data plane ${p.id} (${p.hostname}): ${verdict.reason}`)
      return
    }
    if (!p.sync) return deliver(p, current, null)
    const frame = deltaFor(p.sync, current)
    if (!(frame instanceof Promise)) return deliver(p, current, frame)
    return frame
      .catch((err) => {
        log.warn(`reading the changes for data plane ${p.id} failed (${(err as Error).message}); sending the whole configuration`)
        return null
      })
      .then((f) => deliver(p, current, f))
  }

  /** Writes the delta `frame`, or the whole configuration when it is null (nothing when it is empty). */
  function deliver(p: Peer, current: Payload, frame: Buffer | null): void {
    if (p.ws.readyState !== p.ws.OPEN) return
    if (frame?.length === 0) return
    if (!frame) {
      if (p.lastFull?.hash === current.hash) return
      const wait = p.lastFull ? p.lastFull.at + FULL_PUSH_GAP_MS - Date.now() : 0
      if (wait > 0) {
        p.fullTimer ??= setTimeout(() => {
          p.fullTimer = undefined
          void send(p)
        }, wait).unref()
        return
      }
    }
    const bytes = frame ?? current.full()
    if (!bytes) return // over cluster_max_payload: said once, when published
    if (frame) counters.deltas_sent++
    else counters.full_syncs_sent++
    p.ws.send(bytes, {binary: true})
    // after a delta the DP is past the last whole configuration: the same hash may have to go again
    p.lastFull = frame ? undefined : {at: Date.now(), hash: current.hash}
    if (p.sync) p.sync = {version: current.version, hash: current.hash}
  }

  /**
   * The delta frame from `at` to `current`; an empty buffer when the DP has it already;
   * null when a whole configuration must go (history pruned, the DP ahead of this CP or on
   * another configuration). As in Kong, a DP within the history gets the changes, however
   * many. A promise only when they must be read from the database.
   */
  function deltaFor(at: SyncPosition, current: Payload): Buffer | null | Promise<Buffer | null> {
    if (at.version === current.version) return at.hash === current.hash ? Buffer.alloc(0) : null
    if (at.version > current.version || at.version < 0) return null
    if (current.delta?.from === at.version) return current.delta.bytes
    return readDeltas(pool, at.version, current.version).then((deltas) =>
      deltas ? encodeDelta({from: at.version, version: current.version, deltas, config_hash: current.hash, hashes: current.hashes, kctl_digest: current.digest}) : null,
    )
  }

  function onConnection(ws: WebSocket, req: IncomingMessage, q: URLSearchParams): void {
    const socket = req.socket as TLSSocket
    const p: Peer = {
      id: q.get('node_id')!,
      hostname: q.get('node_hostname') ?? 'unknown',
      ip: socket.remoteAddress?.replace(/^::ffff:/, '') ?? 'unknown',
      version: q.get('node_version')!,
      ws,
      lastSeen: nowSeconds(),
      configHash: EMPTY_CONFIG_HASH,
      status: SyncStatus.UNKNOWN,
      certExpiry: certExpiry(socket),
      chain: DONE,
      queued: 0,
    }
    const fingerprint = peerFingerprint(socket)
    const plog = log.child({data_plane: p.id, hostname: p.hostname})
    const version = checkVersion(GATEWAY_VERSION, p.version)
    if (version.reason) {
      plog.warn(`data plane refused: ${version.reason}`)
      p.status = version.status
      void record(p).then(() => ws.close(1008, 'version incompatible'))
      return
    }
    peers.add(p)
    plog.notice(`data plane connected from ${p.ip} (version ${p.version}, certificate SHA-256 ${fingerprint ?? 'none'})`)
    const firstTimer = setTimeout(() => {
      plog.warn('data plane sent no basic_info in time; closing')
      ws.terminate()
    }, pingWaitMs)
    ws.on('message', (data, isBinary) => {
      const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer)
      if (p.info) {
        // a DP that syncs incrementally asks again when a delta did not fit
        const ask = p.sync ? decodeGetDelta(bytes) : null
        if (!ask) return
        plog.info(`data plane asks for the changes since version ${ask.version}${ask.version < 0 ? ' (the whole configuration)' : ''}`)
        p.sync = {version: ask.version, hash: ask.hash}
        // asked for: sent even when it is what the DP was sent last
        p.lastFull = undefined
        void send(p)
        return
      }
      clearTimeout(firstTimer)
      try {
        p.info = decodeBasicInfo(bytes)
        p.sync = p.info.kctl_sync
      } catch (err) {
        plog.warn(`data plane sent an invalid first message (${(err as Error).message}); closing`)
        ws.close(1002, 'protocol error')
        return
      }
      p.status = eligibility(p).status
      void record(p)
      void send(p)
      if (!isBinary) plog.debug('basic_info arrived as a text frame')
    })
    ws.on('ping', (data) => {
      p.lastSeen = nowSeconds()
      const hash = data.toString('utf8')
      if (/^[0-9a-f]{32}$/.test(hash)) p.configHash = hash
      void record(p)
    })
    const liveness = setInterval(() => {
      if (nowSeconds() - p.lastSeen > pingWaitMs / 1000) {
        plog.warn(`data plane silent for more than ${pingWaitMs / 1000}s; closing`)
        ws.terminate()
      }
    }, Math.max(100, pingWaitMs / 3))
    ws.on('close', () => {
      clearTimeout(firstTimer)
      clearTimeout(p.fullTimer)
      clearInterval(liveness)
      peers.delete(p)
      plog.notice('data plane disconnected')
    })
    ws.on('error', (err) => plog.warn(`connection error: ${err.message}`))
  }

  /** No upgrade request, however malformed, may end the control plane. */
  function onUpgrade(req: IncomingMessage, duplex: Duplex, head: Buffer): void {
    try {
      upgrade(req, duplex as TLSSocket, head)
    } catch (err) {
      log.error(`data plane connection from ${(duplex as TLSSocket).remoteAddress ?? '?'}: ${(err as Error)?.stack ?? String(err)}`)
      duplex.destroy()
    }
  }

  function upgrade(req: IncomingMessage, socket: TLSSocket, head: Buffer): void {
    const reject = (status: number, reason: string) => {
      log.warn(`data plane connection from ${socket.remoteAddress ?? '?'} refused: ${reason}`)
      socket.end(`HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : 'Bad Request'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    }
    const url = parseTarget(req.url)
    if (!url) return reject(400, 'malformed request target')
    if (url.pathname === RPC_OUTLET_PATH) {
      if (rpc) return rpc.upgrade(req, socket, head)
      return reject(404, `unknown path ${url.pathname} (cluster_rpc is off)`)
    }
    if (url.pathname !== OUTLET_PATH) return reject(404, `unknown path ${url.pathname}`)
    const peerProblem = checkPeer(socket, tls)
    if (peerProblem) {
      // The DP is told nothing: the connection just ends.
      log.warn(`data plane ${url.searchParams.get('node_id') ?? '?'} from ${socket.remoteAddress ?? '?'} rejected: ${peerProblem}`)
      socket.destroy()
      return
    }
    if (!isUuid(url.searchParams.get('node_id'))) return reject(400, "'node_id' must be a UUID")
    if (!url.searchParams.get('node_version')) return reject(400, "'node_version' must be set")
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, req, url.searchParams))
  }

  return {
    async listen() {
      for (const l of parseListen(conf.cluster_listen)) {
        const server = createServer({cert: tls.cert, key: tls.key, ca: tls.ca ? [tls.ca] : [tls.cert, ...tls.pinned], requestCert: true, rejectUnauthorized: false})
        server.on('upgrade', onUpgrade)
        server.on('request', (_req, res) => {
          res.statusCode = 426
          res.end()
        })
        await listen(server, l.host, l.port, 'cluster_listen')
        servers.push(server)
      }
      const purge = setInterval(() => void purgeExpired(pool).catch(() => {}), 60_000)
      purge.unref()
    },
    async publish(config) {
      const {entities, version, hashes, digest} = config
      const announce = published?.version !== version
      published = {entities, version}
      if (announce) rpc?.notify(version)
      if (payload?.hash === hashes.config && payload.version === version) return
      const versions = new Map(bundledPlugins().map((p) => [p.name, p.version]))
      const used = new Map<string, string>()
      for (const pl of entities.plugins ?? []) used.set(pl.name, versions.get(pl.name) ?? '0.0.0')
      // the changes since the previous payload, read and encoded once for every DP that had it
      let delta: Payload['delta'] = null
      const prev = payload
      const following = (p: Peer) => prev !== null && p.sync?.version === prev.version && p.sync.hash === prev.hash
      if (prev && prev.version < version && [...peers].some(following)) {
        const deltas =
          config.changes?.from === prev.version
            ? config.changes.deltas
            : await readDeltas(pool, prev.version, version).catch((err) => {
                log.warn(`reading the changes since version ${prev.version} failed (${(err as Error).message}); sending whole configurations`)
                return null
              })
        if (deltas) delta = {from: prev.version, bytes: encodeDelta({from: prev.version, version, deltas, config_hash: hashes.config, hashes, kctl_digest: digest})}
      }
      // The whole configuration is compressed once, when a DP first needs it: after the
      // deltas went out (compressing 10,000 routes takes longer than everything a delta costs).
      let full: Buffer | null | undefined
      const encodeFull = (): Buffer | null => {
        if (full !== undefined) return full
        const bytes = encodeReconfigure({timestamp: Date.now() / 1000, config_table: exportConfig(entities), config_hash: hashes.config, hashes, kctl_version: version})
        if (bytes.length > conf.cluster_max_payload) {
          lastPushError = `configuration ${hashes.config} is ${bytes.length} bytes compressed, more than cluster_max_payload (${conf.cluster_max_payload} bytes); data planes keep their current configuration`
          log.error(`unable to push configuration to data planes: ${lastPushError}`)
          return (full = null)
        }
        lastPushError = null
        return (full = bytes)
      }
      payload = {full: encodeFull, version, delta, hash: hashes.config, hashes, digest, plugins: used}
      const first = delta ? [...peers].filter(following) : []
      await Promise.all(first.map((p) => send(p)))
      const rest = [...peers].filter((p) => !first.includes(p))
      await Promise.all(rest.map((p) => send(p)))
      // The size of the whole configuration is checked (and reported) whether or not a DP
      // needs it: once changes pause, so that a burst of them is not compressed each time.
      clearTimeout(sizeCheck)
      if (full === undefined) sizeCheck = setTimeout(encodeFull, SIZE_CHECK_AFTER_MS).unref()
    },
    status: () => ({configuration_hash: payload?.hash ?? EMPTY_CONFIG_HASH, configuration_sync_version: payload?.version ?? 0, connected_data_planes: peers.size + (rpc?.connected() ?? 0), last_push_error: lastPushError, sync: {...counters}}),
    async close() {
      clearTimeout(sizeCheck)
      for (const p of peers) p.ws.terminate()
      wss.close()
      rpc?.close()
      await Promise.all(servers.map((s) => closeServer(s, 1000)))
    },
  }
}
