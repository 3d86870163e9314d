/**
 * `kctl certs status`: every certificate file the cluster's nodes use, with its subject,
 * expiry and days left, and a warning (with what to run) for each that expires within 30 days.
 */
import {certificateInventory, daysLeft, expiryWarnings, EXPIRY_WARNING_DAYS, type CertificateEntry} from '../cluster/cert-inventory.js'
import {loadCluster, type ClusterRef} from './cluster.js'

export interface CertsStatusOptions extends ClusterRef {
  /** Epoch seconds (default now); tests pin it. */
  now?: number
}

/** The JSON contract of `kctl certs status --json`. */
export interface CertsStatusResult {
  cluster: string
  /** Hybrid: how data planes and control planes authenticate each other; null otherwise. */
  mtls: 'shared' | 'pki' | null
  /** A rotation (`kctl certs rotate`) started and not finished. */
  rotation_in_progress: boolean
  certificates: (CertificateEntry & {days_left: number | null})[]
  /** Days before expiry from which a certificate is warned about. */
  warn_days: number
  warnings: string[]
}

export async function certsStatus(options: CertsStatusOptions): Promise<CertsStatusResult> {
  const c = await loadCluster(options)
  const now = options.now ?? Date.now() / 1000
  const entries = await certificateInventory(c.state, c.spec)
  const warnings = expiryWarnings(entries, now)
  if (c.state.certRotation) warnings.push('a certificate rotation did not finish: run `kctl certs rotate` again to complete it')
  return {
    cluster: c.state.name,
    mtls: c.state.certificates?.mtls ?? null,
    rotation_in_progress: Boolean(c.state.certRotation),
    certificates: entries.map((e) => ({...e, days_left: daysLeft(e, now)})),
    warn_days: EXPIRY_WARNING_DAYS,
    warnings,
  }
}
