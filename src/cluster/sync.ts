/**
 * Hybrid mode's "in sync" check: a data plane is in sync when the control plane's
 * `/clustering/data-planes` row for its node id (`<prefix>/kong.id`) carries the control
 * plane's `configuration_hash` (from its `/status`), and the data plane's own `/status`
 * says the same. Both sides, so a stale row from an earlier run never counts.
 */
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {ExternalError, tail} from '../kit/errors.js'
import {hostFor, processRunning, reachUrl} from './hosts/index.js'
import {listenUrl} from './listen.js'
import type {ClusterState, NodeState} from './state.js'

interface DataPlaneRow {
  id: string
  config_hash?: string
  sync_status?: string
}

/** Where each DP stands; `null` when it could not be asked. */
export interface SyncView {
  cpHash: string
  dps: Record<string, {row?: DataPlaneRow; hash?: string}>
}

/** One look at the CP and the DPs. @returns undefined when the CP does not answer. */
export async function syncView(state: ClusterState, cp: NodeState, dps: NodeState[]): Promise<SyncView | undefined> {
  const cpHost = hostFor(state, cp.name)
  const status = await getJson(`${await reachUrl(cpHost, listenUrl(cp.listen.status))}/status`)
  const list = await getJson(`${await reachUrl(cpHost, listenUrl(cp.listen.admin))}/clustering/data-planes?size=1000`)
  if (typeof status?.configuration_hash !== 'string' || !Array.isArray(list?.data)) return undefined
  const rows = list.data as DataPlaneRow[]
  const view: SyncView = {cpHash: status.configuration_hash, dps: {}}
  for (const dp of dps) {
    const dpHost = hostFor(state, dp.name)
    // The DP's node id, which it persists in `<prefix>/kong.id` on first start.
    const id = (await dpHost.readFile(join(dp.prefix, 'kong.id')).catch(() => undefined))?.toString('utf8').trim()
    const own = await getJson(`${await reachUrl(dpHost, listenUrl(dp.listen.status))}/status`)
    view.dps[dp.name] = {row: rows.find((r) => r.id === id), hash: typeof own?.configuration_hash === 'string' ? own.configuration_hash : undefined}
  }
  return view
}

export const inSync = (view: SyncView, dp: string): boolean => view.dps[dp]?.row?.config_hash === view.cpHash && view.dps[dp]?.hash === view.cpHash

/**
 * Polls until every DP is in sync with the CP.
 * @throws ExternalError NODE_START_FAILED naming the DPs that are not, with their sync
 *   status and log tail, when a DP exits or the wait times out.
 */
export async function waitInSync(state: ClusterState, cp: NodeState, dps: NodeState[], timeoutMs = 60_000): Promise<SyncView> {
  const deadline = Date.now() + timeoutMs
  let view: SyncView | undefined
  for (;;) {
    view = await syncView(state, cp, dps)
    if (view && dps.every((d) => inSync(view!, d.name))) return view
    const running = await Promise.all(dps.map((d) => processRunning(state, d.name)))
    const dead = dps.find((_, i) => !running[i])
    if (dead) throw await syncFailure(state, dead, view, 'exited before it received the configuration')
    if (Date.now() > deadline) {
      const late = dps.find((d) => !view || !inSync(view, d.name))!
      throw await syncFailure(state, late, view, `did not report the control plane's configuration hash within ${Math.round(timeoutMs / 1000)} s`)
    }
    await sleep(100)
  }
}

/**
 * Bounded wait for data planes that were already running when their control plane
 * started again: they reconnect on their own (within about a second of the CP listening).
 * @returns the last view (undefined if the CP never answered) and the DPs not in sync by then
 */
export async function waitCaughtUp(state: ClusterState, cp: NodeState, dps: NodeState[], timeoutMs = 10_000): Promise<{view?: SyncView; late: NodeState[]}> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const view = await syncView(state, cp, dps)
    const running = await Promise.all(dps.map((d) => processRunning(state, d.name)))
    const late = dps.filter((d, i) => running[i] && (!view || !inSync(view, d.name)))
    if (late.length === 0 || Date.now() > deadline) return {view, late}
    await sleep(100)
  }
}

async function syncFailure(state: ClusterState, dp: NodeState, view: SyncView | undefined, what: string): Promise<ExternalError> {
  const log = (await hostFor(state, dp.name).readFile(dp.logFile).catch(() => undefined))?.toString('utf8') ?? ''
  const seen = view?.dps[dp.name]
  const detail = !view ? 'the control plane did not answer' : `control plane hash ${view.cpHash}, data plane hash ${seen?.hash ?? 'unknown'}, sync_status ${seen?.row?.sync_status ?? 'not connected'}`
  return new ExternalError('NODE_START_FAILED', `Data plane ${dp.name} ${what} (${detail}).\n--- ${dp.logFile} (tail) ---\n${tail(log, 15)}`, tail(log, 15), {
    hint: `Check the certificates and cluster addresses; \`kctl logs ${dp.name}\` shows the whole log.`,
  })
}

async function getJson(url: string): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await fetch(url, {signal: AbortSignal.timeout(2000)})
    return res.ok ? ((await res.json()) as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}
