/**
 * The hybrid-only phases: certificates before anything starts; data planes after the
 * control planes are ready; then the wait until every data plane has the CP's config.
 *
 * A data plane started while no control plane runs is not waited for: it serves its cached
 * configuration (if it has one) and connects on its own when a control plane comes back.
 */
import {join} from 'node:path'
import {ensureCertificates, planCertificates} from './certificates.js'
import {checkClusterConnectivity, controlPlanesOf} from './connectivity.js'
import {processRunning} from './hosts/index.js'
import {waitNodeReady} from './launcher.js'
import {launchAll} from './launch.js'
import {hostOf, onOtherHost, RERUN_AFTER_UNDO, startedNodes, targets, type Phase, type UpContext} from './phase.js'
import {launchedProcess, type NodeState} from './state.js'
import {waitCaughtUp, waitInSync} from './sync.js'

const isDp = (n: NodeState): boolean => n.role === 'data_plane'
const names = (nodes: NodeState[]): string => nodes.map((n) => n.name).join(', ')

export const certificatesPhase: Phase = {
  title: 'Certificates',
  plan: async (ctx) => planCertificates(ctx.state.certificates, await targets(ctx)),
  async run(ctx) {
    const certs = ctx.state.certificates
    if (!certs) return
    // Every node's certificate, not only this run's targets: a later `start dp-3` finds its own.
    const written = await ensureCertificates(certs, Object.values(ctx.state.nodes), (n) => (onOtherHost(n) ? hostOf(ctx, n.name).address : undefined))
    ctx.report.info(written.length ? `generated ${written.length} certificate(s), mtls ${certs.mtls}` : `using the existing certificates (mtls ${certs.mtls})`)
  },
}

/** The data planes this run starts on other hosts. */
const remoteDataPlanes = async (ctx: UpContext): Promise<NodeState[]> => (await targets(ctx)).filter((n) => isDp(n) && onOtherHost(n))

/**
 * Before the data planes start: from each one's host, a TCP connection to every running
 * control plane's cluster port, at the address the data plane will dial. A host that cannot
 * is named with what to do, and what this run started is stopped again (runPhases).
 */
export const dataPlanesReachControlPlanes: Phase = {
  title: 'Check data plane hosts reach the control planes',
  applies: async (ctx) => (await remoteDataPlanes(ctx)).length > 0,
  plan: async (ctx) => {
    const cps = controlPlanesOf(ctx.state)
    return (await remoteDataPlanes(ctx)).flatMap((n) => cps.map((cp) => `from ${n.host} (${n.name}), connect to the cluster port of ${cp.name} at ${cp.address}:${cp.port}`))
  },
  async run(ctx) {
    const dps = await remoteDataPlanes(ctx)
    const running = await Promise.all(Object.keys(ctx.state.nodes).map(async (name) => ((await processRunning(ctx.state, name)) ? name : undefined)))
    const cps = controlPlanesOf(ctx.state).filter((cp) => running.includes(cp.name))
    if (dps.length === 0 || cps.length === 0) return
    await checkClusterConnectivity(ctx.state, {nodes: dps.map((n) => n.name), controlPlanes: cps, then: RERUN_AFTER_UNDO})
    const hosts = [...new Set(dps.map((n) => n.host))]
    ctx.report.info(`${hosts.join(', ')} reach${hosts.length === 1 ? 'es' : ''} the cluster port of ${cps.map((c) => c.name).join(', ')}`)
  },
}

export const startDataPlanes: Phase = {
  title: 'Start data planes',
  plan: async (ctx) => (await targets(ctx)).filter(isDp).map((n) => `start ${n.name} (data_plane), wait for GET ${n.listen.status}/status = 200`),
  async run(ctx) {
    const dps = (await targets(ctx)).filter(isDp)
    await launchAll(ctx, dps)
    await Promise.all(dps.map((n) => waitNodeReady(n, hostOf(ctx, n.name), launchedProcess(n)!, {path: '/status'})))
  },
}

async function runningControlPlane(ctx: UpContext): Promise<NodeState | undefined> {
  for (const n of Object.values(ctx.state.nodes)) if (n.role === 'control_plane' && (await processRunning(ctx.state, n.name))) return n
  return undefined
}

/** Data planes already running, not started by this run: a restarted CP's DPs reconnect on their own. */
async function runningDataPlanes(ctx: UpContext): Promise<NodeState[]> {
  const started = startedNodes(ctx)
  const dps = Object.values(ctx.state.nodes).filter((n) => isDp(n) && !started.includes(n))
  const running = await Promise.all(dps.map((n) => processRunning(ctx.state, n.name)))
  return dps.filter((_, i) => running[i])
}
const startsControlPlane = async (ctx: UpContext): Promise<boolean> => (await targets(ctx)).some((n) => n.role === 'control_plane')
/** How long `kctl start` of a CP waits for the DPs that were already running. */
const CATCH_UP_MS = 10_000

export const waitInSyncPhase: Phase = {
  title: 'Wait until data planes are in sync',
  plan: async (ctx) => [
    ...(await targets(ctx)).filter(isDp).map((n) => `wait until ${n.name} reports the control plane's configuration hash`),
    ...((await startsControlPlane(ctx)) ? (await runningDataPlanes(ctx)).map((n) => `wait (at most ${CATCH_UP_MS / 1000} s) until the running ${n.name} reconnects and reports the control plane's configuration hash`) : []),
  ],
  async run(ctx) {
    const started = startedNodes(ctx)
    const dps = started.filter(isDp)
    const cp = await runningControlPlane(ctx)
    if (dps.length) {
      if (!cp) return serveFromCache(ctx, dps)
      const view = await waitInSync(ctx.state, cp, dps)
      ctx.report.info(`${names(dps)} in sync with ${cp.name} (configuration hash ${view.cpHash})`)
    }
    if (cp && started.some((n) => n.role === 'control_plane')) await catchUp(ctx, cp)
  },
}

/** After a CP started: the DPs that kept running come back to it; those that do not are named, not fatal. */
async function catchUp(ctx: UpContext, cp: NodeState): Promise<void> {
  const dps = await runningDataPlanes(ctx)
  if (dps.length === 0) return
  const {view, late} = await waitCaughtUp(ctx.state, cp, dps, CATCH_UP_MS)
  const back = dps.filter((d) => !late.includes(d))
  if (back.length && view) ctx.report.info(`${names(back)} back in sync with ${cp.name} (configuration hash ${view.cpHash})`)
  if (late.length) {
    ctx.report.warn(`${names(late)} not in sync with ${cp.name} after ${CATCH_UP_MS / 1000} s; they keep serving their last configuration and keep reconnecting. See \`kctl status\` and \`kctl logs ${late[0].name}\`.`)
  }
}

/** No control plane: a DP with a cache must come up serving it; one without waits for a CP. */
async function serveFromCache(ctx: UpContext, dps: NodeState[]): Promise<void> {
  const hasCache = await Promise.all(dps.map((n) => hostOf(ctx, n.name).exists(join(n.prefix, 'config.cache.json.gz'))))
  const cached = dps.filter((_, i) => hasCache[i])
  const empty = dps.filter((n) => !cached.includes(n))
  ctx.report.warn(`no control plane is running; ${names(dps)} will connect when one starts`)
  await Promise.all(cached.map((n) => waitNodeReady(n, hostOf(ctx, n.name), launchedProcess(n)!, {timeoutMs: 15_000})))
  if (cached.length) ctx.report.info(`${names(cached)} serving the cached configuration`)
  if (empty.length) ctx.report.warn(`${names(empty)} have no cached configuration yet and answer 503 until a control plane pushes one`)
}
