/**
 * The hybrid-only phases: certificates before anything starts; data planes after the
 * control planes are ready; then the wait until every data plane has the CP's config.
 *
 * A data plane started while no control plane runs is not waited for: it serves its cached
 * configuration (if it has one) and connects on its own when a control plane comes back.
 */
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {ensureCertificates, planCertificates} from './certificates.js'
import {waitNodeReady} from './launcher.js'
import {launch, startedNodes, targets, type Phase, type UpContext} from './phase-context.js'
import {isRunning, launchedProcess, type NodeState} from './state.js'
import {waitInSync} from './sync.js'

const isDp = (n: NodeState): boolean => n.role === 'data_plane'
const names = (nodes: NodeState[]): string => nodes.map((n) => n.name).join(', ')

export const certificatesPhase: Phase = {
  title: 'Certificates',
  plan: (ctx) => planCertificates(ctx.state.certificates, targets(ctx)),
  async run(ctx) {
    const certs = ctx.state.certificates
    if (!certs) return
    // Every node's certificate, not only this run's targets: a later `start dp-3` finds its own.
    const written = await ensureCertificates(certs, Object.values(ctx.state.nodes))
    ctx.report.info(written.length ? `generated ${written.length} certificate(s), mtls ${certs.mtls}` : `using the existing certificates (mtls ${certs.mtls})`)
  },
}

export const startDataPlanes: Phase = {
  title: 'Start data planes',
  plan: (ctx) => targets(ctx).filter(isDp).map((n) => `start ${n.name} (data_plane), wait for GET ${n.listen.status}/status = 200`),
  async run(ctx) {
    const dps = targets(ctx).filter(isDp)
    for (const node of dps) await launch(ctx, node)
    await Promise.all(dps.map((n) => waitNodeReady(n, launchedProcess(n)!, {path: '/status'})))
  },
}

const runningControlPlane = (ctx: UpContext): NodeState | undefined => Object.values(ctx.state.nodes).find((n) => n.role === 'control_plane' && isRunning(n))

export const waitInSyncPhase: Phase = {
  title: 'Wait until data planes are in sync',
  plan: (ctx) => targets(ctx).filter(isDp).map((n) => `wait until ${n.name} reports the control plane's configuration hash`),
  async run(ctx) {
    const dps = startedNodes(ctx).filter(isDp)
    if (dps.length === 0) return
    const cp = runningControlPlane(ctx)
    if (!cp) return serveFromCache(ctx, dps)
    const view = await waitInSync(cp, dps)
    ctx.report.info(`${names(dps)} in sync with ${cp.name} (configuration hash ${view.cpHash})`)
  },
}

/** No control plane: a DP with a cache must come up serving it; one without waits for a CP. */
async function serveFromCache(ctx: UpContext, dps: NodeState[]): Promise<void> {
  const cached = dps.filter((n) => existsSync(join(n.prefix, 'config.cache.json.gz')))
  const empty = dps.filter((n) => !cached.includes(n))
  ctx.report.warn(`no control plane is running; ${names(dps)} will connect when one starts`)
  await Promise.all(cached.map((n) => waitNodeReady(n, launchedProcess(n)!, {timeoutMs: 15_000})))
  if (cached.length) ctx.report.info(`${names(cached)} serving the cached configuration`)
  if (empty.length) ctx.report.warn(`${names(empty)} have no cached configuration yet and answer 503 until a control plane pushes one`)
}
