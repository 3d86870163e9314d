/**
 * `kctl certs rotate [--days N]`: new cluster certificates, rolled out so that no data plane
 * is ever refused. Both sides of a cluster connection check the other (shared: the
 * certificate's digest; pki: the chain to the CA), so each side must trust the new
 * certificate before the other presents it:
 *
 *   issue the new ones in certs/next/, and a trust bundle (shared: both certificates, pinned
 *   by digest; pki: both CAs)
 *   1. control planes reload: present the old, trust both
 *   2. data planes reload one by one: present the new, trust both  (each back, on the new one)
 *   3. the new files replace the old ones
 *   4. control planes reload: present the new, trust only the new
 *   5. data planes reload one by one: trust only the new
 *   the bundle and certs/next/ are removed
 *
 * A node on another host gets the files its kong.conf names copied to `<config>/certs/` there
 * before each reload (keys 0600, owned by the service user; launch.ts), and loses the
 * rollout's copies at the end.
 *
 * Each reload is `kctl reload`'s (sockets kept, the old process drains). The progress is kept
 * in the state (`certRotation`), so a run that stops part way is finished by the next one.
 */
import {readFile, rm} from 'node:fs/promises'
import {dirname, join, relative} from 'node:path'
import {UserError} from '../kit/errors.js'
import type {Reporter} from '../kit/output.js'
import {nodeCertPaths, nodeSans} from '../cluster/certificates.js'
import {runningNodes, waitAllLinked, waitDataPlaneLinked} from '../cluster/cluster-links.js'
import {hostFor, processRunning} from '../cluster/hosts/index.js'
import {hostCertsDir} from '../cluster/launch.js'
import {writeState, type CertRotation, type CertificatesState, type NodeState} from '../cluster/state.js'
import {waitInSync} from '../cluster/sync.js'
import {generateCa, generateClusterCertificate, inspectCertificate, issueCertificate, writeAtomic, writeKeyPair, CERT_MODE} from '../pki/index.js'
import {loadCluster, type ClusterRef, type LoadedCluster} from './cluster.js'
import {cannotReplace, replace} from './reload.js'

export interface CertsRotateOptions extends ClusterRef {
  /** Validity of the new certificates in days (default: spec.certificates.days, else 1095). */
  days?: number
  report: Reporter
}

export interface CertSummary {
  /** notAfter, ISO 8601. */
  expires_at: string
  /** SHA-256 of the DER certificate, lowercase hex. */
  fingerprint_sha256: string
}

/** The JSON contract of `kctl certs rotate --json`. */
export interface CertsRotateResult {
  cluster: string
  mtls: 'shared' | 'pki'
  /** The cluster certificate (shared) or the CA (pki), before and after. */
  previous: CertSummary
  current: CertSummary
  /** Nodes reloaded onto the new certificates, in order (control planes first). */
  reloaded: string[]
  /** Nodes not running: they start with the new certificates. */
  not_running: string[]
}

export async function rotateCertificates(options: CertsRotateOptions): Promise<CertsRotateResult> {
  const c = await loadCluster(options)
  const certs = checkRotatable(c, options.days)
  const nodes = Object.values(c.state.nodes)
  const cps = nodes.filter((n) => n.role === 'control_plane')
  const dps = nodes.filter((n) => n.role === 'data_plane')
  for (const n of nodes) {
    if (!(await processRunning(c.state, n.name))) continue
    const why = await cannotReplace(c, n, 'reload')
    if (why) throw why
  }
  // once promoted (a resumed run), the old certificate is gone: previous is then the current one
  const previous = summary(await readFile(certs.cert, 'utf8'))
  if (c.state.certRotation) options.report.warn('A rotation started earlier did not finish; going on with its new certificates.')
  else c.state.certRotation = await issueNext(c, certs, options.days ?? certs.days, options.report)
  const r = c.state.certRotation
  const current = summary(await readFile(r.promoted ? certs.cert : join(r.next, certFile(certs)), 'utf8'))
  const reloaded = new Set<string>()
  const notRunning = new Set<string>()
  const roll = async (node: NodeState, mark: (r: CertRotation) => void, what: string, fingerprint?: string) => {
    mark(r)
    await writeState(c.stateDir, c.state)
    if (!(await processRunning(c.state, node.name))) {
      notRunning.add(node.name)
      return
    }
    options.report.step(`${node.name}: ${what}`)
    if (!(await replace(c, node, 'reload'))) {
      notRunning.add(node.name)
      return
    }
    reloaded.add(node.name)
    // with no control plane running there is nothing to be back with: it connects when one starts
    if (node.role !== 'data_plane') await waitAllLinked(c.state)
    else if ((await runningNodes(c.state, 'control_plane')).length) await waitDataPlaneLinked(c.state, node, fingerprint)
  }
  const own = (node: NodeState, dir?: string) => readFile(nodeCertPaths(certs, node.name, dir).cert, 'utf8').then((t) => summary(t).fingerprint_sha256)

  if (!r.promoted) {
    for (const cp of cps) await roll(cp, () => {}, 'trusting the old and the new certificates')
    for (const dp of dps) await roll(dp, (x) => void (x.presenting.includes(dp.name) || x.presenting.push(dp.name)), 'presenting the new certificate', await own(dp, r.next))
    await promote(certs, r, nodes)
    r.promoted = true
    await writeState(c.stateDir, c.state)
    options.report.info(`the new certificates replace the old ones in ${dirname(certs.cert)}`)
  }
  for (const cp of cps) await roll(cp, (x) => void (x.settled.includes(cp.name) || x.settled.push(cp.name)), 'presenting the new certificate, trusting only the new')
  for (const dp of dps) await roll(dp, (x) => void (x.settled.includes(dp.name) || x.settled.push(dp.name)), 'trusting only the new certificate', await own(dp))

  delete c.state.certRotation
  await writeState(c.stateDir, c.state)
  await rm(r.next, {recursive: true, force: true})
  await rm(r.bundle, {force: true})
  await removeHostCopies(c, r)
  const cp = (await runningNodes(c.state, 'control_plane'))[0]
  const live = await runningNodes(c.state, 'data_plane')
  if (cp && live.length) await waitInSync(c.state, cp, live)
  return {
    cluster: c.state.name,
    mtls: certs.mtls,
    previous,
    current,
    reloaded: [...cps, ...dps].map((n) => n.name).filter((n) => reloaded.has(n)),
    not_running: [...cps, ...dps].map((n) => n.name).filter((n) => notRunning.has(n) && !reloaded.has(n)),
  }
}

/** @throws UserError USAGE when the cluster has no certificates kctl may replace. */
function checkRotatable(c: LoadedCluster, days: number | undefined): CertificatesState {
  const certs = c.state.certificates
  if (c.state.mode !== 'hybrid' || !certs) {
    throw new UserError('USAGE', `Cluster ${c.state.name} is ${c.state.mode}: only hybrid clusters have cluster certificates.`, {hint: 'Proxy and Admin API certificates are entities: replace them through the Admin API or `kctl apply`.'})
  }
  if (!certs.generated) {
    throw new UserError('USAGE', `Cluster ${c.state.name} uses your own certificate (spec.certificates.cert: ${certs.cert}); kctl rotates only the certificates it generated.`, {
      hint: 'Remove cert and key from spec.certificates to let kctl generate and rotate them, or replace your files and run `kctl reload` (every node must trust the new one at once, so connections are refused meanwhile).',
    })
  }
  if (days !== undefined && !(Number.isInteger(days) && days >= 1)) throw new UserError('USAGE', `--days must be a whole number of days, at least 1 (got ${days}).`)
  return certs
}

const certFile = (certs: CertificatesState): string => (certs.mtls === 'pki' ? 'ca.crt' : 'cluster.crt')

function summary(pem: string): CertSummary {
  const info = inspectCertificate(pem)
  return {expires_at: info.notAfter, fingerprint_sha256: info.fingerprintSha256}
}

/** Issues the new certificates into `<certs>/next/` and writes the trust bundle (old + new). */
async function issueNext(c: LoadedCluster, certs: CertificatesState, days: number, report: Reporter): Promise<CertRotation> {
  const dir = dirname(certs.cert)
  const next = join(dir, 'next')
  const bundle = join(dir, 'rotation-trust.pem')
  await rm(next, {recursive: true, force: true})
  const nodes = Object.values(c.state.nodes)
  const top = certs.mtls === 'pki' ? await generateCa({days}) : await generateClusterCertificate({days})
  await writeKeyPair({...top, certPath: join(next, certFile(certs)), keyPath: join(next, certs.mtls === 'pki' ? 'ca.key' : 'cluster.key')})
  if (certs.mtls === 'pki') {
    for (const node of nodes) {
      const usage = node.role === 'control_plane' ? 'server' : 'client'
      // the names init gave it: on another host, that host's address too (its peers dial it)
      const host = hostFor(c.state, node.name)
      const pair = await issueCertificate(top, {commonName: node.name, sans: nodeSans(node, host.isLocal ? undefined : host.address), usage, days})
      const paths = nodeCertPaths(certs, node.name, next)
      await writeKeyPair({...pair, certPath: paths.cert, keyPath: paths.key})
    }
  }
  const old = await readFile(certs.cert, 'utf8')
  await writeAtomic(bundle, `${old.trim()}\n${top.cert.trim()}\n`, CERT_MODE, true)
  report.info(`issued new certificates valid ${days} days (mtls ${certs.mtls}, until ${summary(top.cert).expires_at}) in ${next}`)
  return {next, bundle, presenting: [], promoted: false, settled: []}
}

/** Copies the new certificates over the current ones (same names), keys 0600. */
async function promote(certs: CertificatesState, r: CertRotation, nodes: NodeState[]): Promise<void> {
  const pairs = [{cert: certs.cert, key: certs.key}, ...(certs.mtls === 'pki' ? nodes.map((n) => nodeCertPaths(certs, n.name)) : [])]
  for (const to of pairs) {
    const from = {cert: join(r.next, to.cert.slice(dirname(to.cert).length + 1)), key: join(r.next, to.key.slice(dirname(to.key).length + 1))}
    const pair = {cert: await readFile(from.cert, 'utf8').catch(() => undefined), key: await readFile(from.key, 'utf8').catch(() => undefined)}
    if (pair.cert && pair.key) await writeKeyPair({cert: pair.cert, key: pair.key, certPath: to.cert, keyPath: to.key, force: true})
  }
}

/** The rollout's copies on other hosts (`<config>/certs/next/`, the trust bundle). */
async function removeHostCopies(c: LoadedCluster, r: CertRotation): Promise<void> {
  const ours = dirname(r.bundle)
  const done = new Set<string>()
  for (const node of Object.values(c.state.nodes)) {
    const host = hostFor(c.state, node.name)
    if (host.isLocal || done.has(host.name)) continue
    done.add(host.name)
    const dir = hostCertsDir(c.state, node)
    for (const local of [r.next, r.bundle]) await host.remove(join(dir, relative(ours, local)))
  }
}
