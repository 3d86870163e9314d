/**
 * The sources a status is built from, each polled on its own loop so that a slow node
 * never delays the others and never has two requests in flight to one endpoint:
 *
 *   local   kctl.yaml + state (pids, started_at, DP ids)            ─┐
 *   node:X  X's /status + /status/ready                               ├─► Observations ─► buildStatus
 *   cp      the CP's /status + /status/ready + /clustering/data-planes ─┘
 *
 * The CP kctl asks is read by the cp source alone (its node row comes from that probe).
 */
import {setTimeout as sleep} from 'node:timers/promises'
import {CP_STOPPED, type CpObservation, type Observations} from './build.js'
import type {LocalCluster, LocalNode} from './local.js'
import type {Prober} from './probe.js'

const nowSeconds = () => Date.now() / 1000

/** The CP kctl asks: the first running one in spec order, else the first. */
export function pickControlPlane(local: LocalCluster): LocalNode | undefined {
  const cps = local.nodes.filter((n) => n.role === 'control_plane')
  return cps.find((n) => n.state === 'running') ?? cps[0]
}

/** One node's probe into `obs` (a stopped node is not asked). */
export async function observeNode(prober: Prober, node: LocalNode, obs: Observations): Promise<void> {
  if (node.state !== 'running' || !node.statusUrl) {
    delete obs.nodes[node.name]
    return
  }
  obs.nodes[node.name] = await prober.node(node.statusUrl)
}

/** One CP read into `obs.cp`; the last rows are kept when the CP does not answer. */
export async function observeControlPlane(prober: Prober, local: LocalCluster, obs: Observations): Promise<void> {
  const cp = pickControlPlane(local)
  if (!cp) {
    obs.cp = null
    return
  }
  const prev: CpObservation = obs.cp?.node === cp.name ? obs.cp : {node: cp.name, rows: null, hash: null, connected: null, error: null, unreachableSince: null, rowsAt: null}
  const fail = (error: string): CpObservation => ({...prev, error, unreachableSince: prev.unreachableSince ?? Math.floor(nowSeconds())})
  if (cp.state === 'stopped') {
    // Stopped by kctl: not asked, and not "unreachable"; the last rows stay as they were.
    obs.cp = {...prev, error: CP_STOPPED, unreachableSince: null}
    return
  }
  if (!cp.adminUrl || !cp.statusUrl) {
    obs.cp = fail(`${cp.name} has no ${cp.adminUrl ? 'status_listen' : 'admin_listen'}`)
    return
  }
  try {
    const [probe, rows] = await Promise.all([
      prober.node(cp.statusUrl).then((p) => {
        // Only while this source still reads it: a CP stopped meanwhile is the node loop's again.
        const now = local.nodes.find((n) => n.name === cp.name)
        if (now && readByControlPlaneSource(local, now)) obs.nodes[cp.name] = p
        return p
      }),
      prober.dataPlanes(cp.adminUrl),
    ])
    if (!probe.ok) throw new Error(probe.error ?? 'no answer')
    const body = probe.body!
    obs.cp = {node: cp.name, rows, hash: typeof body.configuration_hash === 'string' ? body.configuration_hash : null, version: typeof body.configuration_sync_version === 'number' ? body.configuration_sync_version : null, connected: typeof body.connected_data_planes === 'number' ? body.connected_data_planes : null, error: null, unreachableSince: null, rowsAt: nowSeconds()}
  } catch (err) {
    obs.cp = fail((err as Error).message)
  }
}

/** Whether `node` is read by the cp source (the CP kctl asks, while it runs). */
export function readByControlPlaneSource(local: LocalCluster, node: LocalNode): boolean {
  return local.mode === 'hybrid' && node.state === 'running' && Boolean(node.adminUrl && node.statusUrl) && pickControlPlane(local)?.name === node.name
}

/** Every source once, in parallel. */
export async function observeAll(prober: Prober, local: LocalCluster, obs: Observations): Promise<void> {
  await Promise.all([
    ...local.nodes.filter((n) => !readByControlPlaneSource(local, n)).map((n) => observeNode(prober, n, obs)),
    local.mode === 'hybrid' ? observeControlPlane(prober, local, obs) : null,
  ])
}

/** Runs `fn` every `intervalMs` (measured from start to start; never overlapping) until aborted. */
export async function pollLoop(intervalMs: number, signal: AbortSignal, fn: () => Promise<void>): Promise<void> {
  while (!signal.aborted) {
    const started = Date.now()
    await fn()
    const wait = Math.max(0, intervalMs - (Date.now() - started))
    await sleep(wait, undefined, {signal}).catch(() => {})
  }
}
