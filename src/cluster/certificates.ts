/**
 * Hybrid mode's certificates phase and the cluster keys of each node's kong.conf.
 *
 *   shared  <state>/certs/cluster.crt|key   one self-signed pair (kong hybrid gen_cert), or the
 *                                           spec's own files, presented by every node
 *   pki     <state>/certs/ca.crt|key        a CA, and <node>.crt|key per node: CPs serverAuth,
 *                                           DPs clientAuth; SANs: name, localhost, 127.0.0.1, ::1
 *
 * Missing files are generated on every run, so a node added to the spec gets its certificate.
 */
import {existsSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'
import {UserError} from '../kit/errors.js'
import {generateCa, generateClusterCertificate, issueCertificate, writeKeyPair} from '../pki/index.js'
import {dialAddress} from './listen.js'
import type {ClusterSpec} from './spec.js'
import type {CertificatesState, ClusterState, NodeState} from './state.js'

/** The certificates record for a hybrid spec; undefined for other modes. */
export function certificatesState(spec: ClusterSpec, specPath: string, stateDir: string): CertificatesState | undefined {
  if (spec.spec.mode !== 'hybrid') return undefined
  const c = spec.spec.certificates ?? {}
  const mtls = c.mtls ?? 'shared'
  const days = c.days ?? 1095
  if (c.cert && c.key) return {mtls, days, cert: resolve(dirname(specPath), c.cert), key: resolve(dirname(specPath), c.key), generated: false}
  const dir = join(stateDir, 'certs')
  const base = mtls === 'pki' ? 'ca' : 'cluster'
  return {mtls, days, cert: join(dir, `${base}.crt`), key: join(dir, `${base}.key`), generated: true}
}

/** A node's own pair: the shared one, or `<node>.crt|key` next to the CA (in `dir` when given: a rotation's new ones). */
export function nodeCertPaths(certs: CertificatesState, node: string, dir?: string): {cert: string; key: string} {
  if (certs.mtls === 'shared') return dir ? {cert: join(dir, basename(certs.cert)), key: join(dir, basename(certs.key))} : {cert: certs.cert, key: certs.key}
  const at = dir ?? dirname(certs.cert)
  return {cert: join(at, `${node}.crt`), key: join(at, `${node}.key`)}
}

/** What the phase would write, for the dry-run form. */
export function planCertificates(certs: CertificatesState | undefined, nodes: NodeState[]): string[] {
  if (!certs) return []
  if (!certs.generated) return [`use ${certs.cert} and ${certs.key} (mtls shared)`]
  const want = certs.mtls === 'shared' ? [certs.cert] : [certs.cert, ...nodes.map((n) => nodeCertPaths(certs, n.name).cert)]
  const missing = want.filter((f) => !existsSync(f))
  return missing.length ? missing.map((f) => `generate ${f} (mtls ${certs.mtls})`) : ['certificates already present']
}

/**
 * The names a node's certificate (pki mode) is issued for: its name and loopback, and on
 * another host that host's address too, so a peer that dials the address can check it.
 */
export function nodeSans(node: NodeState, hostAddress?: string): string[] {
  return [node.name, 'localhost', '127.0.0.1', '::1', ...(hostAddress ? [hostAddress] : [])]
}

/**
 * Generates what is missing, or checks the given files are readable.
 * @param addressOf the address of the host a node runs on, when another host than this machine
 * @returns the files written. @throws UserError SPEC_INVALID when a given file can't be read.
 */
export async function ensureCertificates(certs: CertificatesState, nodes: NodeState[], addressOf: (node: NodeState) => string | undefined = () => undefined): Promise<string[]> {
  if (!certs.generated) {
    for (const [k, file] of [['cert', certs.cert], ['key', certs.key]] as const) {
      await readFile(file).catch((err: Error) => {
        throw new UserError('SPEC_INVALID', `Can't read spec.certificates.${k} (${file}): ${err.message}`, {hint: 'Fix the path in kctl.yaml, or remove cert and key to let kctl generate them.'})
      })
    }
    return []
  }
  const written: string[] = []
  const write = async (pair: {cert: string; key: string}, paths: {cert: string; key: string}) => {
    // Written only when the certificate is missing, so a leftover key from a failed run is replaced.
    await writeKeyPair({...pair, certPath: paths.cert, keyPath: paths.key, force: true})
    written.push(paths.cert)
  }
  if (!existsSync(certs.cert)) await write(certs.mtls === 'pki' ? await generateCa({days: certs.days}) : await generateClusterCertificate({days: certs.days}), certs)
  if (certs.mtls === 'shared') return written
  const ca = {cert: await readFile(certs.cert, 'utf8'), key: await readFile(certs.key, 'utf8')}
  for (const node of nodes) {
    const paths = nodeCertPaths(certs, node.name)
    if (existsSync(paths.cert)) continue
    const usage = node.role === 'control_plane' ? 'server' : 'client'
    await write(await issueCertificate(ca, {commonName: node.name, sans: nodeSans(node, addressOf(node)), usage, days: certs.days}), paths)
  }
  return written
}

/** The kong.conf keys of the hybrid roles (empty for traditional nodes). */
export function clusterConfValues(state: ClusterState, node: NodeState, hostAddress: (host: string) => string | undefined = () => undefined): Record<string, string> {
  const certs = state.certificates
  if (node.role === 'traditional' || !certs) return {}
  const r = state.certRotation
  const own = nodeCertPaths(certs, node.name, r && !r.promoted && r.presenting.includes(node.name) ? r.next : undefined)
  // during a rotation every node trusts the old and the new until it is settled on the new
  const bundle = r && !(r.promoted && r.settled.includes(node.name)) ? r.bundle : undefined
  const values: Record<string, string> = {cluster_mtls: certs.mtls, cluster_cert: own.cert, cluster_cert_key: own.key}
  if (certs.mtls === 'pki') values.cluster_ca_cert = bundle ?? certs.cert
  else if (bundle) values.kctl_cluster_pinned_certs = bundle
  if (node.role === 'control_plane') values.cluster_listen = node.listen.cluster ?? 'off'
  else values.cluster_control_plane = controlPlaneAddress(state, node, hostAddress)
  return values
}

/**
 * Every control plane's cluster address (`host:port, host:port`; a control plane on another
 * host than the data plane at that host's address), starting with a
 * different one for each data plane so they spread over the control planes; a data plane
 * whose control plane fails moves to the next in its list.
 */
function controlPlaneAddress(state: ClusterState, node: NodeState, hostAddress: (host: string) => string | undefined): string {
  const addresses = Object.values(state.nodes)
    .filter((n) => n.role === 'control_plane')
    // A control plane on another host than the data plane: at that host's address.
    .map((cp) => dialAddress(cp.listen.cluster, (cp.host ?? 'local') !== (node.host ?? 'local') ? hostAddress(cp.host ?? 'local') : undefined))
    .filter((a): a is string => a !== undefined)
  if (addresses.length === 0) return '127.0.0.1:8005'
  const dps = Object.values(state.nodes).filter((n) => n.role === 'data_plane')
  const first = Math.max(0, dps.findIndex((d) => d.name === node.name)) % addresses.length
  return [...addresses.slice(first), ...addresses.slice(0, first)].join(', ')
}
