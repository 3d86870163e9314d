/**
 * Every certificate file a cluster's nodes use, read from disk: the hybrid cluster
 * certificate (shared) or the CA and each node's certificate (pki), and the proxy
 * certificates a node's `conf` names (`ssl_cert`). The proxy's fallback certificate is made
 * in memory at each start, so it is never listed.
 */
import {readFile} from 'node:fs/promises'
import {dirname, resolve} from 'node:path'
import {inspectCertificate} from '../pki/index.js'
import {nodeCertPaths} from './certificates.js'
import {nodeExtraConf} from './spec-conf.js'
import type {ClusterSpec} from './spec.js'
import type {ClusterState} from './state.js'

export interface CertificateEntry {
  /** cluster: the shared cluster certificate; ca: the pki CA; node: a node's pki certificate; proxy: a node's `ssl_cert`. */
  kind: 'cluster' | 'ca' | 'node' | 'proxy'
  /** The node presenting it; null for the shared cluster certificate and the CA (every node). */
  node: string | null
  file: string
  /** kctl made it, and `kctl certs rotate` renews it; false: a file kctl.yaml names. */
  generated: boolean
  subject: string | null
  /** notAfter, ISO 8601 (null when the file could not be read). */
  expires_at: string | null
  fingerprint_sha256: string | null
  /** Why the file could not be read as a certificate. */
  error: string | null
}

/** How long before expiry `kctl status` warns. */
export const EXPIRY_WARNING_DAYS = 30

export async function certificateInventory(state: ClusterState, spec: ClusterSpec): Promise<CertificateEntry[]> {
  const wanted: Omit<CertificateEntry, 'subject' | 'expires_at' | 'fingerprint_sha256' | 'error'>[] = []
  const certs = state.certificates
  if (certs) {
    wanted.push({kind: certs.mtls === 'pki' ? 'ca' : 'cluster', node: null, file: certs.cert, generated: certs.generated})
    if (certs.mtls === 'pki') for (const n of Object.values(state.nodes)) if (n.role !== 'traditional') wanted.push({kind: 'node', node: n.name, file: nodeCertPaths(certs, n.name).cert, generated: certs.generated})
  }
  for (const n of Object.values(state.nodes)) {
    const files = (nodeExtraConf(spec.spec, n.name).ssl_cert ?? '').split(',').map((f) => f.trim()).filter(Boolean)
    for (const f of files) wanted.push({kind: 'proxy', node: n.name, file: resolve(dirname(state.specPath), f), generated: false})
  }
  return Promise.all(wanted.map(async (w) => ({...w, ...(await readEntry(w.file))})))
}

async function readEntry(file: string): Promise<Pick<CertificateEntry, 'subject' | 'expires_at' | 'fingerprint_sha256' | 'error'>> {
  try {
    const info = inspectCertificate(await readFile(file, 'utf8'))
    return {subject: info.subject, expires_at: info.notAfter, fingerprint_sha256: info.fingerprintSha256, error: null}
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    return {subject: null, expires_at: null, fingerprint_sha256: null, error: e.code === 'ENOENT' ? 'no such file' : e.message}
  }
}

/** Whole days left (negative once expired), or null when unknown. */
export function daysLeft(e: Pick<CertificateEntry, 'expires_at'>, now: number): number | null {
  return e.expires_at ? Math.floor((Date.parse(e.expires_at) / 1000 - now) / 86_400) : null
}

const LABEL: Record<CertificateEntry['kind'], string> = {cluster: 'the cluster certificate', ca: 'the cluster CA', node: 'the cluster certificate of', proxy: 'the proxy certificate of'}

/** One line per certificate that expires within `days` (or has), saying what to run. */
export function expiryWarnings(entries: CertificateEntry[], now: number, days = EXPIRY_WARNING_DAYS): string[] {
  const out: string[] = []
  for (const e of entries) {
    const left = daysLeft(e, now)
    if (left === null || left >= days) continue
    const what = `${LABEL[e.kind]}${e.kind === 'node' || e.kind === 'proxy' ? ` ${e.node}` : ''} (${e.file})`
    const when = left < 0 ? `expired ${-left} day(s) ago` : `expires in ${left} day(s)`
    const fix = e.generated
      ? 'run `kctl certs rotate`'
      : e.kind === 'proxy'
        ? `replace the file, then \`kctl reload ${e.node}\``
        : 'replace the files spec.certificates names, then `kctl reload` (or remove them from kctl.yaml so kctl generates and rotates its own)'
    out.push(`${what} ${when} (${e.expires_at}): ${fix}`)
  }
  return out
}
