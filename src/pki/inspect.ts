/** Reading certificates back: what they say, their fingerprint, how long they have left. */
import {createHash, X509Certificate} from 'node:crypto'
import {PkiError} from './errors.js'

export interface CertificateInfo {
  /** Distinguished names as node prints them, e.g. `CN=kong_clustering`. */
  subject: string
  issuer: string
  /** ISO 8601. */
  notBefore: string
  notAfter: string
  /** SHA-256 of the DER certificate, lowercase hex without separators. */
  fingerprintSha256: string
  /** Hex, as node gives it. */
  serialNumber: string
  /** `ec`, `rsa`, `ed25519`… */
  keyType: string
  /** Key size: the modulus for RSA, the curve's field size for EC. */
  keyBits?: number
  /** EC only: the OpenSSL curve name, e.g. `secp384r1`. */
  curve?: string
  /** basicConstraints CA:true. */
  isCa: boolean
  /** Extended key usages by name (`serverAuth`, `clientAuth`) or OID when unnamed. */
  extendedKeyUsage: string[]
  /** subjectAltName values: DNS names and IP addresses. */
  sans: string[]
}

const CURVE_BITS: Record<string, number> = {prime256v1: 256, secp384r1: 384, secp521r1: 521}
const EKU_NAMES: Record<string, string> = {'1.3.6.1.5.5.7.3.1': 'serverAuth', '1.3.6.1.5.5.7.3.2': 'clientAuth'}

/**
 * Parses one PEM (or DER) certificate.
 * @throws PkiError NOT_A_CERTIFICATE when it does not parse.
 */
export function parseCertificate(cert: string | Buffer): X509Certificate {
  try {
    return new X509Certificate(cert)
  } catch (err) {
    throw new PkiError('NOT_A_CERTIFICATE', 'This is not a PEM or DER X.509 certificate.', undefined, {cause: err})
  }
}

export function inspectCertificate(cert: string | Buffer): CertificateInfo {
  const x = parseCertificate(cert)
  const details = x.publicKey.asymmetricKeyDetails ?? {}
  const curve = details.namedCurve
  return {
    subject: oneLine(x.subject),
    issuer: oneLine(x.issuer),
    notBefore: new Date(x.validFrom).toISOString(),
    notAfter: new Date(x.validTo).toISOString(),
    fingerprintSha256: fingerprintSha256(x.raw),
    serialNumber: x.serialNumber,
    keyType: x.publicKey.asymmetricKeyType ?? 'unknown',
    keyBits: details.modulusLength ?? (curve ? CURVE_BITS[curve] : undefined),
    ...(curve ? {curve} : {}),
    isCa: x.ca,
    extendedKeyUsage: (x.keyUsage ?? []).map((oid) => EKU_NAMES[oid] ?? oid),
    sans: parseSans(x.subjectAltName),
  }
}

/**
 * SHA-256 of the DER certificate in lowercase hex. Accepts a PEM, or the DER bytes a TLS
 * socket gives (`socket.getPeerCertificate().raw`): this is how a CP in shared mode checks
 * that a DP presents the very same certificate.
 */
export function fingerprintSha256(cert: string | Buffer): string {
  const der = typeof cert === 'string' ? parseCertificate(cert).raw : cert
  return createHash('sha256').update(der).digest('hex')
}

/** Whole days until `notAfter` (negative once expired), counted from `now`. */
export function daysUntilExpiry(cert: string | Buffer, now: Date = new Date()): number {
  const notAfter = new Date(parseCertificate(cert).validTo).getTime()
  return Math.floor((notAfter - now.getTime()) / 86_400_000)
}

/** True when `cert` names `ca` as issuer and carries a valid signature by its key. */
export function isIssuedBy(cert: string | Buffer, ca: string | Buffer): boolean {
  const leaf = parseCertificate(cert)
  const issuer = parseCertificate(ca)
  return leaf.checkIssued(issuer) && leaf.verify(issuer.publicKey)
}

/** Node separates RDNs with newlines; show them as one line. */
function oneLine(dn: string): string {
  return dn.split('\n').filter(Boolean).join(', ')
}

/** `DNS:a, IP Address:127.0.0.1` → `['a', '127.0.0.1']`. */
function parseSans(text: string | undefined): string[] {
  if (!text) return []
  return text.split(', ').map((part) => part.slice(part.indexOf(':') + 1))
}
