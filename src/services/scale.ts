/**
 * `kctl scale --data-planes N` (hybrid) / `--nodes N` (distributed): kctl.yaml is edited
 * (comments kept, spec-scale.ts), then the cluster follows it: new nodes are started (a data
 * plane until it is in sync), removed ones are drained and stopped, their files and state
 * removed, and a data plane's row dropped from the control planes' list.
 *
 *   spec edited ─► start each new node ─► stop each removed node (drains in-flight requests)
 *     ─► forget it (state, files) ─► DELETE /clustering/data-planes/{its node id}
 */
import {readFile, rename, rm, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {UserError} from '../kit/errors.js'
import type {Reporter} from '../kit/output.js'
import {listenUrl} from '../cluster/listen.js'
import {scaleSpec} from '../cluster/spec-scale.js'
import {hostNamed, localHost, processRunning} from '../cluster/hosts/index.js'
import {LOCAL_HOST_NAME} from '../cluster/spec-hosts.js'
import {writeState, type NodeState} from '../cluster/state.js'
import {loadCluster, type ClusterRef} from './cluster.js'
import {start, stop} from './lifecycle.js'

export interface ScaleOptions extends ClusterRef {
  /** hybrid: how many data planes. */
  dataPlanes?: number
  /** distributed: how many nodes. */
  nodes?: number
  report: Reporter
}

export interface ScaleResult {
  cluster: string
  added: string[]
  removed: string[]
  /** The nodes of that role now, in spec order. */
  nodes: string[]
}

export async function scale(options: ScaleOptions): Promise<ScaleResult> {
  const c = await loadCluster(options)
  const hybrid = c.state.mode === 'hybrid'
  const count = hybrid ? options.dataPlanes : options.nodes
  const flag = hybrid ? '--data-planes' : '--nodes'
  if (c.state.mode === 'embedded') throw new UserError('USAGE', `Cluster ${c.state.name} is embedded: one node and its database, nothing to scale.`, {hint: 'Distributed (`--nodes N`) and hybrid (`--data-planes N`) clusters scale.'})
  if (count === undefined || (hybrid ? options.nodes : options.dataPlanes) !== undefined) {
    throw new UserError('USAGE', `Cluster ${c.state.name} is ${c.state.mode}: scale it with ${flag} N.`, {hint: `e.g. \`kctl scale ${flag} 3\``})
  }
  if (!Number.isInteger(count) || count < 1) throw new UserError('USAGE', `${flag} must be a whole number of at least 1 (got ${count}).`)
  const role = hybrid ? 'data_plane' : 'traditional'
  const text = await readFile(c.specPath, 'utf8')
  const scaled = scaleSpec(text, c.specPath, role, count, hybrid ? 'dp-' : 'node-')
  const nodes = scaled.spec.spec.nodes.filter((n) => n.role === role).map((n) => n.name)
  const result: ScaleResult = {cluster: c.state.name, added: scaled.added, removed: scaled.removed, nodes}
  if (!scaled.added.length && !scaled.removed.length) return result

  // the spec first: it is the cluster's truth, and a run cut short is finished by the next one
  const tmp = `${c.specPath}.kctl-tmp`
  await writeFile(tmp, scaled.text, {mode: (await stat(c.specPath)).mode & 0o777})
  await rename(tmp, c.specPath)
  options.report.info(`${c.specPath}: ${[...scaled.added.map((n) => `+${n}`), ...scaled.removed.map((n) => `-${n}`)].join(' ')}`)

  const ref = {specPath: options.specPath, stateRoot: options.stateRoot, report: options.report}
  for (const name of scaled.added) await start({...ref, node: name})
  for (const name of [...scaled.removed].reverse()) await remove(ref, name)
  return result
}

/** Drains and stops a node the spec no longer has, forgets it, and drops its data-plane row. */
async function remove(ref: ClusterRef & {report: Reporter}, name: string): Promise<void> {
  const node = (await loadCluster(ref)).state.nodes[name]
  if (node) await removeNode(ref, node)
}

/**
 * Removes a node the spec no longer has (`scale`, `init --prune`): drains and stops it when it
 * runs, forgets it in the state, deletes its files, and drops a data plane's row from the
 * control planes' list. `node` is its record as last known (a stopped node's record is gone
 * from the state once the spec no longer names it).
 */
export async function removeNode(ref: ClusterRef & {report: Reporter}, node: NodeState): Promise<void> {
  const name = node.name
  const before = await loadCluster(ref)
  const host = hostNamed(node.host ?? LOCAL_HOST_NAME, before.state.hosts?.[node.host ?? '']) ?? localHost
  const nodeId = ((await host.readFile(join(node.prefix, 'kong.id')).catch(() => undefined))?.toString('utf8') ?? '').trim()
  if (before.state.nodes[name] && (await processRunning(before.state, name))) await stop({...ref, node: name})
  const c = await loadCluster(ref)
  delete c.state.nodes[name]
  await writeState(c.stateDir, c.state)
  await host.remove(node.prefix)
  let cp: NodeState | undefined
  for (const n of Object.values(c.state.nodes)) if (!cp && n.role === 'control_plane' && (await processRunning(c.state, n.name))) cp = n
  if (node.role !== 'data_plane' || !nodeId) {
    ref.report.info(`${name} removed`)
    return
  }
  if (!cp?.listen.admin) {
    ref.report.warn(`no control plane is running: ${name}'s row in /clustering/data-planes expires on its own (cluster_data_plane_purge_delay)`)
    return
  }
  // twice: a ping the control plane received just before the stop may write the row again
  for (const wait of [0, 1500]) {
    await new Promise((r) => setTimeout(r, wait))
    const res = await fetch(`${listenUrl(cp.listen.admin)}/clustering/data-planes/${nodeId}`, {method: 'DELETE', signal: AbortSignal.timeout(5000)}).catch(() => null)
    if (res?.status !== 204) ref.report.warn(`could not drop ${name}'s row from ${cp.name}'s data-plane list (${res ? `HTTP ${res.status}` : 'no answer'}); it expires on its own`)
  }
  ref.report.info(`${name} removed`)
}
