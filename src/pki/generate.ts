/**
 * Certificate generation: the shared cluster certificate (`kong hybrid gen_cert`) and the
 * PKI mode's CA and node certificates. Every function returns PEM strings and writes nothing.
 *
 * Keys are EC P-384 and signatures ECDSA with SHA-384 throughout.
 */
import {createPrivateKey, createPublicKey, X509Certificate as NodeX509} from 'node:crypto'
import {isIP} from 'node:net'
import {PkiError} from './errors.js'
import {randomSerial} from './serial.js'
import {ecdsa, generateEcKeyPair, importSigningKey, loadX509, nodeCrypto, privateKeyPem, type X509Lib} from './x509-lib.js'

/** A certificate and its private key, both PEM. */
export interface CertificateAndKey {
  cert: string
  key: string
}

export const DEFAULT_DAYS = 1095
export const CLUSTER_COMMON_NAME = 'kong_clustering'
export const DEFAULT_CA_COMMON_NAME = 'kctl cluster CA'

export interface ClusterCertificateOptions {
  /** Validity in days from now (default 1095, Kong's three years). */
  days?: number
  /** Subject and issuer CN (default `kong_clustering`, what Kong's DPs expect). */
  commonName?: string
  /** Start of validity (default now); tests pin it. */
  now?: Date
}

export interface CaOptions {
  days?: number
  commonName?: string
  now?: Date
}

/** `server` for control planes (serverAuth), `client` for data planes (clientAuth). */
export type CertificateUsage = 'server' | 'client'

export interface IssueOptions {
  /** Subject CN, usually the node name. */
  commonName: string
  /** DNS names and IP addresses (v4 or v6) for the subjectAltName extension. */
  sans: string[]
  usage: CertificateUsage
  days?: number
  now?: Date
}

/**
 * The shared-mode certificate, as `kong hybrid gen_cert` makes it: self-signed, subject and
 * issuer CN=kong_clustering, EC P-384, valid from now for `days`, no extensions. Two
 * deliberate differences: the signature uses SHA-384 (matching the key size), and the
 * serial is 128 random bits where Kong leaves it 0 (RFC 5280 wants positive, unique serials).
 */
export async function generateClusterCertificate(options: ClusterCertificateOptions = {}): Promise<CertificateAndKey> {
  const {days = DEFAULT_DAYS, commonName = CLUSTER_COMMON_NAME} = options
  const x509 = await loadX509()
  const keys = await generateEcKeyPair('P-384')
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {name: dn(commonName), keys, signingAlgorithm: ecdsa('P-384'), serialNumber: randomSerial(), ...validity(days, options.now), extensions: []},
    nodeCrypto,
  )
  return {cert: cert.toString('pem'), key: privateKeyPem(keys.privateKey)}
}

/** A self-signed CA for PKI mode: CA:true (critical), keyCertSign + cRLSign, key identifiers. */
export async function generateCa(options: CaOptions = {}): Promise<CertificateAndKey> {
  const {days = DEFAULT_DAYS, commonName = DEFAULT_CA_COMMON_NAME} = options
  const x509 = await loadX509()
  const keys = await generateEcKeyPair('P-384')
  const extensions = [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, nodeCrypto),
  ]
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {name: dn(commonName), keys, signingAlgorithm: ecdsa('P-384'), serialNumber: randomSerial(), ...validity(days, options.now), extensions},
    nodeCrypto,
  )
  return {cert: cert.toString('pem'), key: privateKeyPem(keys.privateKey)}
}

/**
 * A node certificate signed by `ca`: CA:false, digitalSignature (the only usage an ECDSA
 * key has in TLS; keyEncipherment applies to RSA key transport), and serverAuth or clientAuth.
 * @throws PkiError CA_UNUSABLE when the CA key is not EC or does not belong to the CA certificate;
 *   INVALID_OPTION when the common name is empty.
 */
export async function issueCertificate(ca: CertificateAndKey, options: IssueOptions): Promise<CertificateAndKey> {
  const {commonName, sans, usage, days = DEFAULT_DAYS} = options
  if (!commonName.trim()) throw new PkiError('INVALID_OPTION', 'A certificate needs a common name.')
  const x509 = await loadX509()
  checkCa(ca)
  const caCert = new x509.X509Certificate(ca.cert)
  const signer = await importSigningKey(ca.key)
  const keys = await generateEcKeyPair('P-384')
  const eku = usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth
  const extensions = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([eku], false),
    ...(sans.length > 0 ? [subjectAltName(x509, sans)] : []),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, nodeCrypto),
    await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey, false, nodeCrypto),
  ]
  const cert = await x509.X509CertificateGenerator.create(
    {
      subject: dn(commonName),
      issuer: caCert.subjectName,
      publicKey: keys.publicKey,
      signingKey: signer.key,
      signingAlgorithm: ecdsa(signer.curve),
      serialNumber: randomSerial(),
      ...validity(days, options.now),
      extensions,
    },
    nodeCrypto,
  )
  return {cert: cert.toString('pem'), key: privateKeyPem(keys.privateKey)}
}

/** Checks that the CA certificate is a readable CA and that the key pairs with it. */
function checkCa(ca: CertificateAndKey): void {
  let cert: NodeX509
  try {
    cert = new NodeX509(ca.cert)
  } catch (err) {
    throw new PkiError('CA_UNUSABLE', 'The CA certificate is not a readable PEM certificate.', undefined, {cause: err})
  }
  if (!cert.ca) throw new PkiError('CA_UNUSABLE', `The certificate ${cert.subject} is not a CA (basicConstraints CA:false).`)
  const spki = (k: ReturnType<typeof createPublicKey>) => k.export({type: 'spki', format: 'der'})
  let matches = false
  try {
    matches = spki(createPublicKey(createPrivateKey(ca.key))).equals(spki(cert.publicKey))
  } catch {
    // unreadable key: reported just below, with the same message
  }
  if (!matches) throw new PkiError('CA_UNUSABLE', 'The CA key does not belong to the CA certificate.')
}

function subjectAltName(x509: X509Lib, sans: string[]) {
  const names = [...new Set(sans.map((s) => s.trim()).filter(Boolean))].map((value) => ({type: isIP(value) ? ('ip' as const) : ('dns' as const), value}))
  return new x509.SubjectAlternativeNameExtension(names, false)
}

/** `CN=<name>`, escaping what RFC 4514 wants escaped so any node name is safe. */
function dn(commonName: string): string {
  return `CN=${commonName.replace(/([,+"\\<>;=])/g, '\\$1').replace(/^([ #])/, '\\$1').replace(/ $/, '\\ ')}`
}

/** Validity from `now` (whole seconds, as X.509 stores them) for exactly `days` days. */
function validity(days: number, now = new Date()): {notBefore: Date; notAfter: Date} {
  if (!Number.isInteger(days) || days < 1) throw new PkiError('INVALID_OPTION', `Validity must be a whole number of days, at least 1 (got ${days}).`)
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000)
  return {notBefore, notAfter: new Date(notBefore.getTime() + days * 86_400_000)}
}
