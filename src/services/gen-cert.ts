/**
 * `kctl gen-cert`: the certificates of a hybrid cluster.
 *
 *   shared  one self-signed certificate (CN=kong_clustering) that every CP and DP presents,
 *           as `kong hybrid gen_cert` makes it: <cert> and <key>
 *   pki     a CA plus one certificate per node, under <out>:
 *             ca.crt  ca.key            the CA (CP: cluster_ca_cert)
 *             <node>.crt <node>.key     CP: serverAuth; DP: clientAuth
 *
 * Every file is checked before any is written, so a refusal writes nothing.
 */
import {resolve} from 'node:path'
import {UserError} from '../kit/errors.js'
import type {Reporter} from '../kit/output.js'
import {PkiError, generateCa, generateClusterCertificate, inspectCertificate, issueCertificate, refuseExisting, writeKeyPair, type CertificateAndKey} from '../pki/index.js'
import {parseNodeList, type PkiNode} from './gen-cert-nodes.js'

export type MtlsMode = 'shared' | 'pki'
export const MTLS_MODES: readonly MtlsMode[] = ['shared', 'pki']

export interface GenCertOptions {
  /** Validity of every certificate, in days. */
  days: number
  /** `shared` (one certificate) or `pki` (CA + per-node certificates). */
  mtls: MtlsMode
  /** shared: certificate path (default ./cluster.crt); given together with keyPath. */
  certPath?: string
  /** shared: key path (default ./cluster.key). */
  keyPath?: string
  /** pki: the directory for ca.* and <node>.* (default ./cluster-pki). */
  outDir?: string
  /** pki: `NAME:ROLE` entries, ROLE cp|control_plane|dp|data_plane (default cp-1, dp-1, dp-2). */
  nodes?: string[]
  /** pki: extra DNS names / IPs added to every node certificate. */
  sans?: string[]
  /** Replace existing files. */
  force: boolean
  /** Relative paths resolve against this directory. */
  cwd: string
  report: Reporter
}

/** One written pair. The JSON contract of `gen-cert --json` in shared mode is exactly this. */
export interface CertFiles {
  /** Absolute path of the certificate. */
  cert: string
  /** Absolute path of the key. */
  key: string
  /** notAfter, ISO 8601. */
  expires_at: string
  /** SHA-256 of the DER certificate, lowercase hex. */
  fingerprint_sha256: string
}

export interface PkiNodeFiles extends CertFiles {
  name: string
  role: PkiNode['role']
  sans: string[]
}

/** `gen-cert --mtls pki --json`. */
export interface PkiResult {
  ca: CertFiles
  nodes: PkiNodeFiles[]
}

export type GenCertResult = CertFiles | PkiResult

export const DEFAULT_CERT = 'cluster.crt'
export const DEFAULT_KEY = 'cluster.key'
export const DEFAULT_PKI_DIR = 'cluster-pki'

/** @throws UserError USAGE for flag combinations that do not go together, CERT_FILE_EXISTS when a file exists without `force`. */
export async function genCert(options: GenCertOptions): Promise<GenCertResult> {
  checkUsage(options)
  try {
    return options.mtls === 'pki' ? await genPki(options) : await genShared(options)
  } catch (err) {
    throw userErrorOf(err)
  }
}

async function genShared(options: GenCertOptions): Promise<CertFiles> {
  const certPath = resolve(options.cwd, options.certPath ?? DEFAULT_CERT)
  const keyPath = resolve(options.cwd, options.keyPath ?? DEFAULT_KEY)
  refuseExisting([certPath, keyPath], options.force)
  options.report.step('Generating an EC P-384 key and a self-signed certificate (CN=kong_clustering)')
  const pair = await generateClusterCertificate({days: options.days})
  await writeKeyPair({...pair, certPath, keyPath, force: options.force})
  return filesOf(pair, certPath, keyPath)
}

async function genPki(options: GenCertOptions): Promise<PkiResult> {
  const dir = resolve(options.cwd, options.outDir ?? DEFAULT_PKI_DIR)
  const nodes = parseNodeList(options.nodes, options.sans ?? [])
  const path = (name: string, ext: 'crt' | 'key') => resolve(dir, `${name}.${ext}`)
  refuseExisting(['ca', ...nodes.map((n) => n.name)].flatMap((n) => [path(n, 'crt'), path(n, 'key')]), options.force)
  options.report.step(`Generating a CA and ${nodes.length} node certificate(s) in ${dir}`)
  const ca = await generateCa({days: options.days})
  await writeKeyPair({...ca, certPath: path('ca', 'crt'), keyPath: path('ca', 'key'), force: options.force})
  const written: PkiNodeFiles[] = []
  for (const node of nodes) {
    options.report.info(`${node.name} (${node.role}): ${node.sans.join(', ')}`)
    const pair = await issueCertificate(ca, {commonName: node.name, sans: node.sans, usage: node.usage, days: options.days})
    await writeKeyPair({...pair, certPath: path(node.name, 'crt'), keyPath: path(node.name, 'key'), force: options.force})
    written.push({name: node.name, role: node.role, sans: node.sans, ...filesOf(pair, path(node.name, 'crt'), path(node.name, 'key'))})
  }
  return {ca: filesOf(ca, path('ca', 'crt'), path('ca', 'key')), nodes: written}
}

function filesOf(pair: CertificateAndKey, cert: string, key: string): CertFiles {
  const info = inspectCertificate(pair.cert)
  return {cert, key, expires_at: info.notAfter, fingerprint_sha256: info.fingerprintSha256}
}

function checkUsage(o: GenCertOptions): void {
  const usage = (message: string, hint: string) => new UserError('USAGE', message, {hint})
  if ((o.certPath === undefined) !== (o.keyPath === undefined)) {
    throw usage('--cert and --key go together: pass both, or neither.', `Without them the files are ./${DEFAULT_CERT} and ./${DEFAULT_KEY}.`)
  }
  if (o.certPath !== undefined && resolve(o.cwd, o.certPath) === resolve(o.cwd, o.keyPath!)) {
    throw usage('--cert and --key name the same file.', 'Give the certificate and the key different paths.')
  }
  if (o.mtls === 'pki' && o.certPath !== undefined) {
    throw usage('--cert and --key are for --mtls shared.', 'With --mtls pki the files go under --out DIR (ca.crt, ca.key, <node>.crt, <node>.key).')
  }
  if (o.mtls === 'shared' && (o.outDir !== undefined || o.nodes !== undefined || o.sans !== undefined)) {
    throw usage('--out, --nodes and --san are for --mtls pki.', 'Add --mtls pki, or drop them for one shared certificate.')
  }
}

function userErrorOf(err: unknown): unknown {
  if (!(err instanceof PkiError)) return err
  if (err.code === 'FILE_EXISTS') {
    return new UserError('CERT_FILE_EXISTS', err.message, {hint: 'Pass --force to replace it, or write elsewhere (--cert/--key, or --out with --mtls pki).', cause: err})
  }
  if (err.code === 'INVALID_OPTION') return new UserError('USAGE', err.message, {cause: err})
  return err
}
