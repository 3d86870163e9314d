/**
 * Mutual TLS between control and data planes.
 *   shared: both sides hold the very same certificate; each checks that the peer's
 *           SHA-256 digest equals its own (the certificate is self-signed), or that of a
 *           certificate in `kctl_cluster_pinned_certs` (the other one while it is rotated).
 *   pki:    each side verifies the peer's chain against `cluster_ca_cert`.
 */
import {X509Certificate} from 'node:crypto'
import {readFileSync} from 'node:fs'
import type {TLSSocket} from 'node:tls'
import type {NodeConf} from '../conf/defaults.js'

export interface ClusterTls {
  mode: 'shared' | 'pki'
  cert: string
  key: string
  ca?: string
  /** SHA-256 of our certificate, as node prints it (`AB:CD:…`). */
  fingerprint256: string
  /** shared: the digests a peer's certificate may have (ours first, then the pinned ones). */
  pins: string[]
  /** shared: the pinned certificates (PEM), offered as acceptable issuers with ours. */
  pinned: string[]
  /** When our certificate expires (Unix seconds). */
  expiresAt: number
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new Error(`could not read ${what} ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`)
  }
}

export function loadClusterTls(conf: NodeConf): ClusterTls {
  const cert = readPem(conf.cluster_cert!, 'cluster_cert')
  const key = readPem(conf.cluster_cert_key!, 'cluster_cert_key')
  let x509: X509Certificate
  try {
    x509 = new X509Certificate(cert)
  } catch {
    throw new Error(`cluster_cert ${conf.cluster_cert} is not a PEM certificate`)
  }
  const mode = conf.cluster_mtls === 'pki' ? 'pki' : 'shared'
  const pinned = mode === 'shared' && conf.kctl_cluster_pinned_certs ? pemCertificates(readPem(conf.kctl_cluster_pinned_certs, 'kctl_cluster_pinned_certs'), 'kctl_cluster_pinned_certs') : []
  return {
    mode,
    cert,
    key,
    ca: mode === 'pki' ? readPem(conf.cluster_ca_cert!, 'cluster_ca_cert') : undefined,
    fingerprint256: x509.fingerprint256,
    pins: [...new Set([x509.fingerprint256, ...pinned.map((p) => new X509Certificate(p).fingerprint256)])],
    pinned,
    expiresAt: Math.floor(new Date(x509.validTo).getTime() / 1000),
  }
}

/** The certificates of a PEM bundle. @throws when there is none or one does not parse. */
function pemCertificates(text: string, what: string): string[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
  if (blocks.length === 0) throw new Error(`${what} holds no PEM certificate`)
  for (const b of blocks) {
    try {
      new X509Certificate(b)
    } catch {
      throw new Error(`${what} holds a certificate that does not parse`)
    }
  }
  return blocks
}

/** shared mode: whether a certificate with this digest may be the peer's. */
export const pinnedDigest = (tls: ClusterTls, fingerprint256: string): boolean => tls.pins.includes(fingerprint256)

/** null when the peer may talk to us, else why not (for the log, never for the peer). */
export function checkPeer(socket: TLSSocket, tls: ClusterTls): string | null {
  const peer = socket.getPeerCertificate()
  if (!peer || Object.keys(peer).length === 0) return 'no client certificate was presented'
  if (tls.mode === 'shared') {
    return pinnedDigest(tls, peer.fingerprint256)
      ? null
      : `the certificate presented (SHA-256 ${peer.fingerprint256}) is not the cluster certificate (SHA-256 ${tls.pins.join(' or ')}) required by cluster_mtls = shared`
  }
  return socket.authorized ? null : `the certificate presented does not verify against cluster_ca_cert: ${String(socket.authorizationError)}`
}

/** SHA-256 of the peer's certificate, as node prints it (`AB:CD:…`). */
export function peerFingerprint(socket: TLSSocket): string | undefined {
  return socket.getPeerCertificate()?.fingerprint256 || undefined
}

export function certExpiry(socket: TLSSocket): number | undefined {
  const peer = socket.getPeerCertificate()
  return peer?.valid_to ? Math.floor(new Date(peer.valid_to).getTime() / 1000) : undefined
}
