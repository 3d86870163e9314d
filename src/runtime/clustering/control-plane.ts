/**
 * The control plane's side of the cluster: an mTLS WebSocket listener on
 * `cluster_listen`, one Peer per connected data plane, and `publish()` which builds the
 * payload ONCE per configuration and sends the same bytes to every eligible DP.
 *
 *   upgrade ─► path/query ok? ─► peer certificate ok? ─► version ok? ─► wait basic_info
 *           ─► plugins ok? ─► send current payload ─► pings refresh last_seen/hash
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
import {configHash, EMPTY_CONFIG_HASH, type ConfigHashes} from './config-hash.js'
import {purgeExpired} from './data-planes.js'
import {createDataPlaneRecorder} from './dp-recorder.js'
import {exportConfig, type EntityArrays} from './export.js'
import {decodeBasicInfo, encodeReconfigure, OUTLET_PATH, SyncStatus, type BasicInfo} from './protocol.js'
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
}

interface Payload {
  bytes: Buffer
  hash: string
  hashes: ConfigHashes
  /** Plugins the configuration uses, name → version. */
  plugins: Map<string, string>
}

export interface ControlPlane {
  listen(): Promise<void>
  /** Exports, hashes and pushes a configuration to every eligible DP. */
  publish(entities: EntityArrays): void
  status(): {configuration_hash: string; connected_data_planes: number; last_push_error: string | null}
  close(): Promise<void>
}

export function createControlPlane(conf: NodeConf, pool: pg.Pool, tls: ClusterTls, log: Logger): ControlPlane {
  const peers = new Set<Peer>()
  const pingWaitMs = conf.cluster_ping_interval * 1500
  const wss = new WebSocketServer({noServer: true, maxPayload: 4 * 1024 * 1024, perMessageDeflate: false})
  let payload: Payload | null = null
  let lastPushError: string | null = null
  const servers: Server[] = []

  const recorder = createDataPlaneRecorder(pool, conf.cluster_data_plane_purge_delay, log)
  const record = (p: Peer) =>
    recorder.mark({id: p.id, hostname: p.hostname, ip: p.ip, last_seen: p.lastSeen, config_hash: p.configHash, version: p.version, sync_status: p.status, labels: p.info?.labels ?? {}, cert_details: p.certExpiry ? {expiry_timestamp: p.certExpiry} : {}})

  function eligibility(p: Peer): Verdict {
    const version = checkVersion(GATEWAY_VERSION, p.version)
    if (version.reason || !payload || !p.info) return version
    return checkPlugins(payload.plugins, p.info.plugins)
  }

  function send(p: Peer): void {
    if (!payload || !p.info) return
    const verdict = eligibility(p)
    if (verdict.status !== p.status) {
      p.status = verdict.status
      void record(p)
    }
    if (verdict.reason) {
      log.warn(`not pushing configuration ${payload.hash} to data plane ${p.id} (${p.hostname}): ${verdict.reason}`)
      return
    }
    p.ws.send(payload.bytes, {binary: true})
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
      if (p.info) return
      clearTimeout(firstTimer)
      try {
        p.info = decodeBasicInfo(Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer))
      } catch (err) {
        plog.warn(`data plane sent an invalid first message (${(err as Error).message}); closing`)
        ws.close(1002, 'protocol error')
        return
      }
      p.status = eligibility(p).status
      void record(p)
      send(p)
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
    publish(entities) {
      const table = exportConfig(entities)
      const hashes = configHash(table)
      if (payload?.hash === hashes.config) return
      const bytes = encodeReconfigure({timestamp: Date.now() / 1000, config_table: table, config_hash: hashes.config, hashes})
      if (bytes.length > conf.cluster_max_payload) {
        lastPushError = `configuration ${hashes.config} is ${bytes.length} bytes compressed, more than cluster_max_payload (${conf.cluster_max_payload} bytes); data planes keep their current configuration`
        log.error(`unable to push configuration to data planes: ${lastPushError}`)
        return
      }
      lastPushError = null
      const versions = new Map(bundledPlugins().map((p) => [p.name, p.version]))
      const used = new Map<string, string>()
      for (const pl of entities.plugins ?? []) used.set(pl.name, versions.get(pl.name) ?? '0.0.0')
      payload = {bytes, hash: hashes.config, hashes, plugins: used}
      for (const p of peers) send(p)
    },
    status: () => ({configuration_hash: payload?.hash ?? EMPTY_CONFIG_HASH, connected_data_planes: peers.size, last_push_error: lastPushError}),
    async close() {
      for (const p of peers) p.ws.terminate()
      wss.close()
      await Promise.all(servers.map((s) => closeServer(s, 1000)))
    },
  }
}
