/**
 * The certificate module: every certificate the project makes or checks goes through here
 * (`kctl gen-cert`, `kctl init --mode hybrid`, the CP/DP mTLS checks). No side effects at
 * import; the signing library loads on first use. Both halves use it, the CLI and the
 * runtime, so it imports nothing else from `src/`.
 */
export {PkiError, type PkiErrorCode} from './errors.js'
export {
  CLUSTER_COMMON_NAME,
  DEFAULT_CA_COMMON_NAME,
  DEFAULT_DAYS,
  generateCa,
  generateClusterCertificate,
  issueCertificate,
  type CaOptions,
  type CertificateAndKey,
  type CertificateUsage,
  type ClusterCertificateOptions,
  type IssueOptions,
} from './generate.js'
export {daysUntilExpiry, fingerprintSha256, inspectCertificate, isIssuedBy, parseCertificate, type CertificateInfo} from './inspect.js'
export {generateSelfSigned, type PemPair} from './self-signed-rsa.js'
export {CERT_MODE, KEY_MODE, refuseExisting, writeAtomic, writeKeyPair, type WriteKeyPairOptions} from './write.js'
