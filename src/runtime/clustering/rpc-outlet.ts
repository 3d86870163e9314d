/**
 * The control plane's `/v2/outlet` (`cluster_rpc = on`): Kong's cluster RPC (rpc.ts), and
 * on it, with `cluster_incremental_sync = on`, the `kong.sync.v2` service (sync-v2.ts).
 *
 *   upgrade ─► kong.meta.v1 offered? ─► peer certificate ok? ─► 101 (kong.meta.v1)
 *           ─► hello within 5 s (snappy offered, a node id) ─► version ok? ─► hello reply
 *           ─► session: get_delta records the DP and answers; every new version is
 *              announced to it by notify_new_version
 *
 * A refused upgrade is closed without an answer, as Kong's `ngx.exit(444)`.
 */
import type {IncomingMessage} from 'node:http'
import type {TLSSocket} from 'node:tls'
import type pg from 'pg'
import {WebSocketServer, type WebSocket} from 'ws'
import type {NodeConf} from '../conf/defaults.js'
import {loadVersionedEntities, readVersionedChanges} from '../db/sync-deltas.js'
import type {Logger} from '../kit/log.js'
import {GATEWAY_VERSION} from '../kit/version.js'
import type {EntitySet} from '../schema/registry.js'
import {isUuid, nowSeconds} from '../schema/validate.js'
import {checkVersion} from './compat.js'
import {EMPTY_CONFIG_HASH} from './config-hash.js'
import type {DataPlaneRecorder} from './dp-recorder.js'
import {parseLabels} from './data-plane.js'
import {SyncStatus} from './protocol.js'
import {decodeHello, DP_MESSAGE_MAX, encodeHelloReply, RPC_META_V1, RPC_TIMEOUT_MS, RpcMethods, startRpcSession, type HelloInfo, type RpcSession} from './rpc.js'
import {checkGetDeltaParams, FULL_SYNC_THRESHOLD, fullSync, GET_DELTA, incrementalSync, NOTIFY_NEW_VERSION, SYNC_V2, versionHash} from './sync-v2.js'
import {certExpiry, checkPeer, type ClusterTls} from './tls.js'

export interface RpcOutletDeps {
  conf: NodeConf
  pool: pg.Pool
  tls: ClusterTls
  log: Logger
  recorder: DataPlaneRecorder
  /** The configuration the control plane published last, with its version; null before the first. */
  published(): {entities: EntitySet; version: number} | null
}

export interface RpcOutlet {
  /** Takes an upgrade request for `/v2/outlet`. */
  upgrade(req: IncomingMessage, socket: TLSSocket, head: Buffer): void
  /** Tells every connected DP that syncs by `kong.sync.v2` that `version` is the latest. */
  notify(version: number): void
  /** The capabilities a DP connected here announced; undefined when it is not connected by RPC. */
  capabilitiesOf(id: string): string[] | undefined
  /** DPs connected by RPC. */
  connected(): number
  close(): void
}

interface RpcPeer {
  id: string
  hostname: string
  ip: string
  version: string
  capabilities: string[]
  labels: Record<string, string>
  certExpiry?: number
  configHash: string
  status: string
  session: RpcSession
  ws: WebSocket
}

export function createRpcOutlet(d: RpcOutletDeps): RpcOutlet {
  const {conf, pool, tls, log} = d
  /** By node id: its connections (a node may have several), the latest last. */
  const nodes = new Map<string, RpcPeer[]>()
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: conf.cluster_max_payload,
    perMessageDeflate: false,
    handleProtocols: (offered) => (offered.has(RPC_META_V1) ? RPC_META_V1 : false),
  })

  const record = (p: RpcPeer) =>
    d.recorder.mark({id: p.id, hostname: p.hostname, ip: p.ip, last_seen: nowSeconds(), config_hash: p.configHash, version: p.version, sync_status: p.status, labels: p.labels, cert_details: p.certExpiry ? {expiry_timestamp: p.certExpiry} : {}, rpc_capabilities: p.capabilities})

  /** kong.sync.v2.get_delta: records where the DP is, then answers what it lacks. */
  async function getDelta(p: RpcPeer, params: unknown[]): Promise<unknown> {
    const from = checkGetDeltaParams(params)
    const plog = log.child({data_plane: p.id})
    plog.debug('[kong.sync.v2] config push (connected client)')
    p.configHash = versionHash(from)
    p.status = SyncStatus.NORMAL
    void record(p)
    const {latest, changes} = await readVersionedChanges(pool, from, FULL_SYNC_THRESHOLD)
    if (from !== 0 && changes) return {default: incrementalSync(changes)}
    const why = from === 0 ? 'the node is empty' : from > latest ? `it is ahead of the latest version ${latest}` : latest - from > FULL_SYNC_THRESHOLD ? `it is more than ${FULL_SYNC_THRESHOLD} versions behind ${latest}` : 'the changes since are no longer kept'
    plog.info(`[kong.sync.v2] forcing a full sync for node_id: ${p.id}, current_version: ${from} (${why})`)
    const state = d.published() ?? (await loadVersionedEntities(pool))
    return {default: fullSync(state.entities, state.version)}
  }

  function onConnection(ws: WebSocket, socket: TLSSocket): void {
    const ip = socket.remoteAddress?.replace(/^::ffff:/, '') ?? 'unknown'
    const refuse = (why: string) => {
      log.error(`[rpc] unable to handshake with client ${ip}: ${why}`)
      ws.close(1002, 'handshake failed')
      setTimeout(() => ws.terminate(), 1000).unref()
    }
    const timer = setTimeout(() => refuse(`no hello within ${RPC_TIMEOUT_MS / 1000}s`), RPC_TIMEOUT_MS)
    ws.once('close', () => clearTimeout(timer))
    ws.once('message', (data, isBinary) => {
      clearTimeout(timer)
      let hello: HelloInfo
      try {
        if (!isBinary) throw new Error('wrong frame type: text')
        hello = decodeHello(data as Buffer)
        if (!isUuid(hello.kong_node_id)) throw new Error(`kong_node_id must be a UUID, not '${hello.kong_node_id}'`)
      } catch (err) {
        return refuse((err as Error).message)
      }
      const plog = log.child({data_plane: hello.kong_node_id, hostname: hello.kong_hostname})
      const compat = checkVersion(GATEWAY_VERSION, hello.kong_version)
      const labels = Array.isArray(hello.kong_conf.cluster_dp_labels) ? parseLabels(hello.kong_conf.cluster_dp_labels.filter((l): l is string => typeof l === 'string')) : {}
      const base = {id: hello.kong_node_id, hostname: hello.kong_hostname, ip, version: hello.kong_version, capabilities: hello.rpc_capabilities, labels, certExpiry: certExpiry(socket), configHash: EMPTY_CONFIG_HASH, ws}
      if (compat.reason) {
        plog.warn(`data plane refused: ${compat.reason}`)
        void d.recorder.mark({...base, last_seen: nowSeconds(), config_hash: EMPTY_CONFIG_HASH, sync_status: compat.status, cert_details: base.certExpiry ? {expiry_timestamp: base.certExpiry} : {}, rpc_capabilities: base.capabilities}).then(() => ws.close(1008, 'version incompatible'))
        return
      }
      const p: RpcPeer = {...base, status: SyncStatus.UNKNOWN, session: undefined as unknown as RpcSession}
      const methods = new RpcMethods()
      if (conf.cluster_incremental_sync) methods.register(GET_DELTA, (params) => getDelta(p, params))
      ws.send(encodeHelloReply(methods.capabilities()), {binary: true})
      p.session = startRpcSession({ws, methods, peerCapabilities: hello.rpc_capabilities, peer: p.id, log: plog, pingIntervalMs: conf.cluster_ping_interval * 1000, maxPayload: conf.cluster_max_payload, maxMessage: DP_MESSAGE_MAX, onAlive: () => void record(p)})
      const list = nodes.get(p.id) ?? []
      list.push(p)
      nodes.set(p.id, list)
      void record(p)
      plog.notice(`data plane connected by RPC from ${ip} (version ${p.version}, capabilities ${p.capabilities.join(', ') || 'none'})`)
      ws.on('close', () => {
        const left = (nodes.get(p.id) ?? []).filter((x) => x !== p)
        if (left.length) nodes.set(p.id, left)
        else nodes.delete(p.id)
        plog.notice('data plane disconnected (RPC)')
      })
    })
    ws.on('error', (err) => log.warn(`[rpc] connection error from ${ip}: ${err.message}`))
  }

  return {
    upgrade(req, socket, head) {
      const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      if (!offered.split(',').some((v) => v.trim() === RPC_META_V1)) {
        log.error(`[rpc] unknown RPC protocol: ${offered || 'none'}, doesn't know how to communicate with client ${socket.remoteAddress ?? '?'}`)
        socket.destroy()
        return
      }
      const problem = checkPeer(socket, tls)
      if (problem) {
        log.error(`[rpc] client's certificate failed validation (${socket.remoteAddress ?? '?'}): ${problem}`)
        socket.destroy()
        return
      }
      wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, socket))
    },
    notify(version) {
      for (const [id, list] of nodes) {
        const p = list[list.length - 1]
        if (!p.session.has(SYNC_V2)) continue
        p.session.call(NOTIFY_NEW_VERSION, [{default: {new_version: version}}]).catch((err: Error) => log.warn(`[kong.sync.v2] unable to notify ${id} new version: ${err.message}`))
      }
    },
    capabilitiesOf: (id) => nodes.get(id)?.at(-1)?.capabilities,
    connected: () => nodes.size,
    close() {
      for (const list of nodes.values()) for (const p of list) p.ws.terminate()
      wss.close()
    },
  }
}
