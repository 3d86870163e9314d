/**
 * A data plane's connection to its control plane, verified before a byte is written:
 *
 *   TCP connect ─► TLS handshake (our cluster certificate) ─► check the CP's certificate ─► socket
 *        │                    │                                        │
 *     'refused'            'tls'                               'identity': closed, nothing sent
 *
 * The WebSocket upgrade request (node id, hostname, version) is written on the returned
 * socket only, so an impostor learns nothing. What the CP must present:
 *   shared: exactly the cluster certificate (same SHA-256 digest as ours, or a pinned one);
 *   pki:    a chain to `cluster_ca_cert`, for `cluster_server_name` (else the CP's host).
 */
import {checkServerIdentity, connect, type PeerCertificate, type TLSSocket} from 'node:tls'
import {SHARED_SERVER_NAME} from './protocol.js'
import {pinnedDigest, type ClusterTls} from './tls.js'

/** How far a connection got: decides how soon to try again. */
export type DialStage = 'refused' | 'tcp' | 'tls' | 'identity'

export class DialError extends Error {
  constructor(
    readonly stage: DialStage,
    message: string,
  ) {
    super(message)
    this.name = 'DialError'
  }
}

export interface DialOptions {
  /** `host:port` (`cluster_control_plane`). */
  address: string
  tls: ClusterTls
  /** `cluster_server_name`, when set. */
  serverName?: string | null
  timeoutMs: number
  /** Called once TCP is connected, before the TLS handshake. */
  onTcpConnect?: () => void
}

/**
 * Opens the TLS connection and verifies the CP's certificate.
 * @throws DialError saying how far it got and why it stopped
 */
export function dialControlPlane(o: DialOptions): Promise<TLSSocket> {
  const {hostname, port} = new URL(`wss://${o.address}`)
  const host = hostname.replace(/^\[|\]$/g, '')
  const pki = o.tls.mode === 'pki'
  // SNI: Kong's `kong_clustering` in shared mode; in pki mode the server name, else the host.
  const servername = o.serverName ?? (pki ? undefined : SHARED_SERVER_NAME)
  return new Promise((resolve, reject) => {
    let tcp = false
    // Verification is ours (below), so the handshake itself never refuses: the check
    // then runs with the peer's certificate in hand and can say what was wrong with it.
    const socket = connect({
      host,
      port: Number(port || 443),
      cert: o.tls.cert,
      key: o.tls.key,
      ca: pki ? o.tls.ca : undefined,
      rejectUnauthorized: false,
      // `authorized` then says whether the chain verifies, nothing about the name.
      checkServerIdentity: () => undefined,
      ...(servername ? {servername} : {}),
    })
    const fail = (err: DialError) => {
      clearTimeout(timer)
      socket.destroy()
      reject(err)
    }
    const timer = setTimeout(() => fail(new DialError(tcp ? 'tls' : 'tcp', `no answer within ${o.timeoutMs / 1000}s`)), o.timeoutMs)
    socket.once('connect', () => {
      tcp = true
      o.onTcpConnect?.()
    })
    socket.once('secureConnect', () => {
      const why = controlPlaneMismatch(socket, o.tls, servername ?? host)
      if (why) return fail(new DialError('identity', `${why}; nothing was sent to it`))
      clearTimeout(timer)
      socket.removeAllListeners('error')
      resolve(socket)
    })
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') fail(new DialError('refused', 'connection refused'))
      else fail(new DialError(tcp ? 'tls' : 'tcp', err.message))
    })
  })
}

/** null when the CP's certificate is the one this cluster trusts, else why not. */
export function controlPlaneMismatch(socket: TLSSocket, tls: ClusterTls, name: string): string | null {
  const peer = socket.getPeerCertificate()
  if (!peer || Object.keys(peer).length === 0) return 'the control plane presented no certificate'
  if (tls.mode === 'shared') {
    return pinnedDigest(tls, peer.fingerprint256)
      ? null
      : `the control plane's certificate (SHA-256 ${peer.fingerprint256}) is not the cluster certificate (SHA-256 ${tls.pins.join(' or ')}) required by cluster_mtls = shared`
  }
  if (!socket.authorized) return `the control plane's certificate does not verify against cluster_ca_cert: ${String(socket.authorizationError)}`
  const wrongName = checkServerIdentity(name, peer as PeerCertificate)
  return wrongName ? `the control plane's certificate is not for '${name}' (cluster_server_name): ${wrongName.message}` : null
}
