/**
 * The data plane's side of the cluster: one WebSocket to the control plane, kept up
 * with jittered exponential backoff (first retry within ~1 s, capped at 10 s).
 *
 *   connect (mTLS) ─► basic_info ─► ping(hash) ─► reconfigure frames ─► apply ─► cache ─► ping(new hash)
 *        ▲                                                                   │
 *        └───────── close / error / no pong for 1.5 ping intervals ◄────────┘
 */
import {hostname} from 'node:os'
import WebSocket from 'ws'
import type {NodeConf} from '../conf/defaults.js'
import type {Logger} from '../log.js'
import {bundledPlugins} from '../plugins/registry.js'
import {GATEWAY_VERSION} from '../version.js'
import {writeCache} from './cache.js'
import {FrameError} from './frame.js'
import {encodeBasicInfo, OUTLET_PATH, SHARED_SERVER_NAME} from './protocol.js'
import type {ClusterTls} from './tls.js'

export interface DataPlaneLink {
  /** Starts connecting; resolves at once (the link retries forever until closed). */
  start(): void
  connected(): boolean
  close(): void
}

export interface DataPlaneDeps {
  conf: NodeConf
  tls: ClusterTls
  nodeId: string
  log: Logger
  /** The hash currently served (sent in pings). */
  currentHash(): string
  /**
   * Decodes, validates and swaps in a reconfigure frame; `unchanged` when it carries the
   * hash already served. Rejects with a FrameError saying which step refused it.
   */
  apply(frame: Buffer): Promise<'applied' | 'unchanged'>
}

export function parseLabels(list: readonly string[]): Record<string, string> {
  return Object.fromEntries(list.map((kv) => kv.split(':')).map(([k, ...v]) => [k.trim(), v.join(':').trim()]))
}

export function connectDataPlane(d: DataPlaneDeps): DataPlaneLink {
  const {conf, tls, log} = d
  const intervalMs = conf.cluster_ping_interval * 1000
  let ws: WebSocket | null = null
  let attempt = 0
  let closed = false
  let retryTimer: NodeJS.Timeout | undefined
  let isOpen = false
  const url = `wss://${conf.cluster_control_plane}${OUTLET_PATH}?${new URLSearchParams({node_id: d.nodeId, node_hostname: hostname(), node_version: GATEWAY_VERSION})}`

  const scheduleRetry = () => {
    if (closed) return
    const base = Math.min(10_000, 500 * 2 ** attempt++)
    const delay = base / 2 + Math.random() * (base / 2)
    retryTimer = setTimeout(connect, delay)
  }

  function connect(): void {
    const pki = tls.mode === 'pki'
    // ws hands these to tls.connect; `servername` is the SNI (Kong's `kong_clustering` in shared mode).
    const options: WebSocket.ClientOptions & {servername?: string} = {
      cert: tls.cert,
      key: tls.key,
      ca: pki ? tls.ca : undefined,
      rejectUnauthorized: pki,
      servername: conf.cluster_server_name ?? (pki ? undefined : SHARED_SERVER_NAME),
      maxPayload: conf.cluster_max_payload,
      perMessageDeflate: false,
      handshakeTimeout: 5000,
    }
    const socket = new WebSocket(url, options)
    ws = socket
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
    socket.on('upgrade', (res) => {
      const peer = (res.socket as import('node:tls').TLSSocket).getPeerCertificate()
      if (!pki && peer?.fingerprint256 !== tls.fingerprint256) {
        log.error(`control plane at ${conf.cluster_control_plane} presented a certificate that is not the cluster certificate; disconnecting`)
        socket.terminate()
      }
    })
    socket.on('open', () => {
      isOpen = true
      log.notice(`connected to control plane ${conf.cluster_control_plane}`)
      socket.send(encodeBasicInfo({plugins: bundledPlugins().map((p) => ({name: p.name, version: p.version})), labels: parseLabels(conf.cluster_dp_labels)}), {binary: true})
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
          if (result === 'applied') {
            try {
              writeCache(conf.prefix, data)
            } catch (err) {
              log.warn(`could not write the config cache: ${(err as Error).message}`)
            }
          }
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
      if (isOpen) log.warn(`disconnected from control plane (code ${code}); reconnecting`)
      isOpen = false
      scheduleRetry()
    })
    socket.on('error', (err) => {
      if (!isOpen) log.warn(`could not connect to control plane ${conf.cluster_control_plane}: ${err.message}`)
    })
  }

  return {
    start: connect,
    connected: () => isOpen,
    close() {
      closed = true
      clearTimeout(retryTimer)
      ws?.terminate()
    },
  }
}
