/**
 * The data plane's side of the cluster: one WebSocket to the control plane, opened on a
 * connection whose certificate was checked first (dial.ts), and kept up:
 *   - a refused connect (the CP's port is closed: it is restarting) is retried every
 *     ~1 s, so the DP is back within about a second of the CP listening again;
 *   - anything else (no answer, TLS or certificate refused, upgrade refused) backs off
 *     exponentially with jitter, from ~0.5 s up to 10 s;
 *   - a TCP connect that succeeds resets the backoff.
 *
 *   connect (mTLS) ─► basic_info ─► ping(hash) ─► reconfigure frames ─► apply ─► cache ─► ping(new hash)
 *        ▲                                                                   │
 *        └───────── close / error / no pong for 1.5 ping intervals ◄────────┘
 *
 * With `cluster_rpc` and `cluster_incremental_sync` on, the connection is Kong's
 * `/v2/outlet` instead (data-plane-rpc.ts), kept up the same way.
 */
import {hostname} from 'node:os'
import WebSocket from 'ws'
import type {NodeConf} from '../conf/defaults.js'
import type {Logger} from '../kit/log.js'
import {bundledPlugins} from '../plugins/registry.js'
import {GATEWAY_VERSION} from '../kit/version.js'
import {DialError, dialControlPlane} from './dial.js'
import {openRpcLink, type SyncV2Target} from './data-plane-rpc.js'
import {FrameError} from './frame.js'
import {encodeBasicInfo, encodeGetDelta, OUTLET_PATH, type SyncPosition} from './protocol.js'
import type {ClusterTls} from './tls.js'

export interface DataPlaneLink {
  /** Starts connecting; resolves at once (the link retries forever until closed). */
  start(): void
  connected(): boolean
  /** The control plane it is connected to, or will try next. */
  address(): string
  /** Connection attempts that failed since a connection last opened (0 while connected). */
  failedAttempts(): number
  close(): void
}

export interface DataPlaneDeps {
  conf: NodeConf
  tls: ClusterTls
  nodeId: string
  log: Logger
  /** The hash currently served (sent in pings). */
  currentHash(): string
  /** The configuration version and hash this DP has (sent in basic_info, for incremental sync). */
  position(): SyncPosition
  /**
   * Decodes, validates and swaps in a frame (and caches it); `unchanged` when it carries
   * the configuration already served; `{resync}` when a delta did not fit: the CP is asked
   * for the changes since that position. Rejects with a FrameError saying which step
   * refused it.
   */
  apply(frame: Buffer): Promise<ApplyResult>
  /** The configuration `kong.sync.v2` drives, used when `cluster_rpc` and `cluster_incremental_sync` are on. */
  syncV2: SyncV2Target
}

export type ApplyResult = 'applied' | 'unchanged' | {resync: SyncPosition}

/** Between connects refused by a closed port (jittered: 0.5–1 s). */
const REFUSED_RETRY_MS = 1000
/** Cap of the backoff for every other failure. */
const MAX_BACKOFF_MS = 10_000
const HANDSHAKE_TIMEOUT_MS = 5000

export function parseLabels(list: readonly string[]): Record<string, string> {
  return Object.fromEntries(list.map((kv) => kv.split(':')).map(([k, ...v]) => [k.trim(), v.join(':').trim()]))
}

/** The `host:port` entries of `cluster_control_plane`, in order. */
export function controlPlanes(value: string): string[] {
  const list = value.split(',').map((a) => a.trim()).filter(Boolean)
  return list.length ? list : [value]
}

export function connectDataPlane(d: DataPlaneDeps): DataPlaneLink {
  const {conf, tls, log} = d
  const intervalMs = conf.cluster_ping_interval * 1000
  let terminate: (() => void) | null = null
  const overRpc = conf.cluster_rpc && conf.cluster_incremental_sync
  let attempt = 0
  let closed = false
  let retryTimer: NodeJS.Timeout | undefined
  let isOpen = false
  // `cluster_control_plane` may list several control planes (kctl's extension: Kong needs
  // a load balancer in front of them). The link stays on one until it fails, then tries
  // the next at once; once every one failed in a row, the usual backoff applies.
  const addresses = controlPlanes(conf.cluster_control_plane)
  let current = 0
  let failedInRow = 0
  let failedAttempts = 0
  const query = new URLSearchParams({node_id: d.nodeId, node_hostname: hostname(), node_version: GATEWAY_VERSION})

  // One log line per kind of failure in a row, not one per retry.
  let lastFailure = ''
  const failed = (level: 'warn' | 'error', text: string) => {
    if (text !== lastFailure) log[level](text)
    lastFailure = text
  }

  /**
   * refused:  the CP's port is closed (it is restarting): trying again costs nothing.
   * rejected: the CP (or an impostor) answered and refused, or was refused: TLS, its
   *           certificate, the upgrade. Backs off on its own count, reset only by a
   *           connection that opens.
   * failed:   no answer, or a connection dropped: backs off, reset by a TCP connect.
   */
  let rejections = 0
  const scheduleRetry = (kind: 'refused' | 'rejected' | 'failed') => {
    if (closed) return
    if (addresses.length > 1) {
      current = (current + 1) % addresses.length
      if (++failedInRow < addresses.length) {
        // another control plane may be up: no reason to wait
        retryTimer = setTimeout(connect, 20 + Math.random() * 80)
        return
      }
      failedInRow = 0
    }
    const base = kind === 'refused' ? REFUSED_RETRY_MS : Math.min(MAX_BACKOFF_MS, kind === 'rejected' ? 1000 * 2 ** rejections++ : 500 * 2 ** attempt++)
    const delay = base / 2 + Math.random() * (base / 2)
    retryTimer = setTimeout(connect, delay)
  }

  function connect(): void {
    const address = addresses[current]
    dialControlPlane({address, tls, serverName: conf.cluster_server_name, timeoutMs: HANDSHAKE_TIMEOUT_MS, onTcpConnect: () => (attempt = 0)}).then(
      (tlsSocket) => {
        if (closed) tlsSocket.destroy()
        else if (overRpc) openRpc(tlsSocket, address)
        else openWebSocket(tlsSocket, address)
      },
      (err: DialError) => {
        failedAttempts++
        if (err.stage === 'identity') failed('error', `refusing control plane ${address}: ${err.message}`)
        else failed('warn', `could not connect to control plane ${address}: ${err.message}${err.stage === 'refused' ? ' (retrying every ~1s)' : ''}`)
        scheduleRetry(err.stage === 'refused' ? 'refused' : err.stage === 'tcp' ? 'failed' : 'rejected')
      },
    )
  }

  /** A connection is up: the next failure starts counting afresh. */
  const opened = (address: string) => {
    isOpen = true
    failedAttempts = 0
    lastFailure = ''
    rejections = 0
    failedInRow = 0
    log.notice(`connected to control plane ${address}${overRpc ? ' (cluster RPC, kong.sync.v2)' : ''}`)
  }
  /** A connection ended (`wasOpen`: after it was up): try again. */
  const ended = (wasOpen: boolean, code: number) => {
    if (wasOpen) log.warn(`disconnected from control plane (code ${code}); reconnecting`)
    isOpen = false
    if (!wasOpen) failedAttempts++
    scheduleRetry(wasOpen ? 'failed' : 'rejected')
  }

  /** Kong's /v2/outlet over a connection already verified. */
  function openRpc(tlsSocket: import('node:tls').TLSSocket, address: string): void {
    const link = openRpcLink({
      tlsSocket,
      address,
      conf,
      nodeId: d.nodeId,
      log,
      sync: d.syncV2,
      onOpen: () => opened(address),
      onClose: ended,
      onFailure: (text) => failed('warn', `could not connect to control plane ${address}: ${text}`),
    })
    terminate = link.terminate
  }

  /** The WebSocket over a connection already verified: the upgrade request is its first write. */
  function openWebSocket(tlsSocket: import('node:tls').TLSSocket, address: string): void {
    const url = `wss://${address}${OUTLET_PATH}?${query}`
    const options: WebSocket.ClientOptions = {
      createConnection: () => tlsSocket,
      maxPayload: conf.cluster_max_payload,
      perMessageDeflate: false,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    }
    const socket = new WebSocket(url, options)
    terminate = () => socket.terminate()
    let pinger: NodeJS.Timeout | undefined
    // Kong's PING_WAIT: a CP that sends no pong for 1.5 intervals is dropped. A deadline
    // re-armed on every pong, rather than a check on each ping tick (which only fires
    // after 2 intervals).
    let pongDeadline: NodeJS.Timeout | undefined
    const awaitPong = () => {
      clearTimeout(pongDeadline)
      pongDeadline = setTimeout(() => {
        log.warn(`no pong from control plane for ${(intervalMs * 1.5) / 1000}s; reconnecting`)
        socket.terminate()
      }, intervalMs * 1.5)
    }
    const ping = () => socket.readyState === WebSocket.OPEN && socket.ping(Buffer.from(d.currentHash()))
    socket.on('open', () => {
      opened(address)
      socket.send(encodeBasicInfo({plugins: bundledPlugins().map((p) => ({name: p.name, version: p.version})), labels: parseLabels(conf.cluster_dp_labels), ...(conf.kctl_cluster_incremental_sync ? {kctl_sync: d.position()} : {})}), {binary: true})
      ping()
      awaitPong()
      pinger = setInterval(ping, intervalMs)
    })
    socket.on('pong', awaitPong)
    socket.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) return
      d.apply(data).then(
        (result) => {
          // A CP that sends configuration is healthy: the next outage starts a fresh backoff.
          attempt = 0
          if (typeof result === 'object' && socket.readyState === WebSocket.OPEN) socket.send(encodeGetDelta(result.resync), {binary: true})
          ping()
        },
        (err: Error) => {
          if (err instanceof FrameError && err.stage === 'decode') log.error(`ignoring an unreadable message from the control plane: ${err.message}`)
          else log.error(`rejected configuration ${(err as FrameError).hash ?? '(unknown hash)'} from the control plane, still serving ${d.currentHash()}: ${err.message}`)
        },
      )
    })
    socket.on('close', (code) => {
      clearInterval(pinger)
      clearTimeout(pongDeadline)
      ended(isOpen, code)
    })
    socket.on('error', (err) => {
      if (!isOpen) failed('warn', `could not connect to control plane ${address}: ${err.message}`)
    })
  }

  return {
    start: connect,
    connected: () => isOpen,
    address: () => addresses[current],
    failedAttempts: () => failedAttempts,
    close() {
      closed = true
      clearTimeout(retryTimer)
      terminate?.()
    },
  }
}
