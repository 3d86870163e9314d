/**
 * A data plane's `/v2/outlet` (`cluster_rpc` and `cluster_incremental_sync` on), on a TLS
 * connection dial.ts verified: the hello, then Kong's sync loop.
 *
 *   101 (kong.meta.v1) ─► hello ─► reply (snappy) ─► sync ─► every 30 s, and on
 *   notify_new_version(V) when V is newer: sync
 *
 *   sync: get_delta(version) ─► apply ─► get_delta(new version) … until a round brings
 *         nothing (Kong runs two rounds: the second reports the version the first reached)
 *
 * Reconnecting is the caller's (data-plane.ts), as for /v1/outlet.
 */
import {hostname} from 'node:os'
import type {TLSSocket} from 'node:tls'
import WebSocket from 'ws'
import type {NodeConf} from '../conf/defaults.js'
import {publicConf} from '../conf/load.js'
import type {Logger} from '../kit/log.js'
import {GATEWAY_VERSION} from '../kit/version.js'
import {decodeHelloReply, encodeHello, RPC_META_V1, RPC_OUTLET_PATH, RPC_SNAPPY_FRAMED, RPC_TIMEOUT_MS, RpcMethods, startRpcSession, UNCOMPRESSED_FACTOR, type RpcSession} from './rpc.js'
import {checkGetDeltaResult, checkNotifyParams, GET_DELTA, NOTIFY_NEW_VERSION, SYNC_V2, type SyncV2Result} from './sync-v2.js'

/** What the sync loop drives: the node's configuration. */
export interface SyncV2Target {
  /** The version the DP has; 0 asks for a full sync. */
  version(): number
  /**
   * Applies a get_delta result that has deltas. `resync`: they did not fit (the target now
   * reports version 0, so the next round is a full sync).
   * @throws Error when the result cannot be applied (logged; the next sync tries again)
   */
  apply(result: SyncV2Result): Promise<'applied' | 'resync'>
}

export interface RpcLinkOptions {
  tlsSocket: TLSSocket
  /** `host:port` of the control plane. */
  address: string
  conf: NodeConf
  nodeId: string
  log: Logger
  sync: SyncV2Target
  /** The hello is done. */
  onOpen(): void
  /** The connection ended; `wasOpen`: after the hello. */
  onClose(wasOpen: boolean, code: number): void
  /** Why a connection failed before the hello was done. */
  onFailure(text: string): void
}

/** Kong's EACH_SYNC_DELAY: a DP asks for changes this often even when told nothing. */
const EACH_SYNC_MS = 30_000
/** A full sync of a large configuration takes longer to build and send than Kong's 5 s. */
const GET_DELTA_TIMEOUT_MS = 30_000
/** Rounds of get_delta in one sync (a round that brings nothing ends it). */
const MAX_ROUNDS = 4

export function openRpcLink(o: RpcLinkOptions): {terminate(): void} {
  const {conf, log} = o
  const ws = new WebSocket(`wss://${o.address}${RPC_OUTLET_PATH}`, [RPC_META_V1], {
    createConnection: () => o.tlsSocket,
    maxPayload: conf.cluster_max_payload,
    perMessageDeflate: false,
    handshakeTimeout: RPC_TIMEOUT_MS,
  })
  const methods = new RpcMethods()
  let session: RpcSession | null = null
  let open = false
  let every: NodeJS.Timeout | undefined

  // one sync at a time; a notification during one makes it run one more round, or, when
  // it came during the last round or a failed one, another sync once this one is done
  let running = false
  let again = false
  const syncSoon = () => {
    if (running) {
      again = true
      return
    }
    running = true
    void rounds().then(
      (more) => {
        running = false
        if ((more || again) && session) syncSoon()
      },
      () => (running = false),
    )
  }
  /** Runs get_delta rounds; true when the last one still brought changes (there may be more). */
  async function rounds(): Promise<boolean> {
    const from = o.sync.version()
    for (let round = 0; round < MAX_ROUNDS && session; round++) {
      again = false
      let result: SyncV2Result
      try {
        result = checkGetDeltaResult(await session.call(GET_DELTA, [{default: {version: o.sync.version()}}], GET_DELTA_TIMEOUT_MS))
      } catch (err) {
        log.error(`sync get_delta error: ${(err as Error).message}`)
        return false
      }
      if (result.deltas.length === 0 && !again) return false
      if (result.deltas.length === 0) continue
      try {
        await o.sync.apply(result)
      } catch (err) {
        log.error(`[kong.sync.v2] could not apply the changes from the control plane: ${(err as Error).message}`)
        return false
      }
    }
    // the version moved each time: go on (a peer that sends changes that move nothing is not asked again at once)
    return session !== null && o.sync.version() !== from
  }

  methods.register(NOTIFY_NEW_VERSION, (params) => {
    const version = checkNotifyParams(params)
    if (version > o.sync.version()) syncSoon()
    return true
  })

  ws.on('open', () => {
    if (ws.protocol !== RPC_META_V1) {
      o.onFailure(`the control plane answered protocol '${ws.protocol}', not ${RPC_META_V1}`)
      ws.terminate()
      return
    }
    ws.send(
      encodeHello({rpc_capabilities: methods.capabilities(), rpc_frame_encodings: [RPC_SNAPPY_FRAMED], kong_version: GATEWAY_VERSION, kong_hostname: hostname(), kong_node_id: o.nodeId, kong_conf: publicConf(conf)}),
      {binary: true},
    )
    const timer = setTimeout(() => {
      o.onFailure(`no answer to the hello within ${RPC_TIMEOUT_MS / 1000}s`)
      ws.terminate()
    }, RPC_TIMEOUT_MS)
    ws.once('message', (data, isBinary) => {
      clearTimeout(timer)
      let capabilities: string[]
      try {
        if (!isBinary) throw new Error('wrong frame type: text')
        capabilities = decodeHelloReply(data as Buffer)
      } catch (err) {
        o.onFailure(`unable to handshake with the control plane: ${(err as Error).message}`)
        ws.close(1002, 'handshake failed')
        return
      }
      if (!capabilities.includes(SYNC_V2)) log.error(`the control plane at ${o.address} does not offer ${SYNC_V2} (is cluster_incremental_sync on there?); no configuration will come`)
      open = true
      session = startRpcSession({ws, methods, peerCapabilities: capabilities, peer: 'control_plane', log, pingIntervalMs: conf.cluster_ping_interval * 1000, maxPayload: conf.cluster_max_payload, maxMessage: conf.cluster_max_payload * UNCOMPRESSED_FACTOR})
      o.onOpen()
      syncSoon()
      every = setInterval(syncSoon, EACH_SYNC_MS)
    })
  })
  ws.on('close', (code) => {
    clearInterval(every)
    session = null
    o.onClose(open, code)
  })
  ws.on('error', (err) => {
    if (!open) o.onFailure(err.message)
  })
  return {terminate: () => ws.terminate()}
}
