/** `kctl destroy`: stop every process of the cluster and remove its state (the spec stays). */
import {rmdir} from 'node:fs/promises'
import {dirname} from 'node:path'
import {UserError} from '../kit/errors.js'
import type {Reporter} from '../kit/output.js'
import {clusterDir} from '../kit/paths.js'
import {stopNode} from '../cluster/launcher.js'
import {removeData, stopServer} from '../cluster/postgres.js'
import {DATABASE_NODE, loadSpec} from '../cluster/spec.js'
import {hostFor, hostNamed} from '../cluster/hosts/index.js'
import {uninstallFrom} from '../cluster/remote-install.js'
import {removeUnitsScript} from '../cluster/systemd-unit.js'
import {launchedProcess, removeStateDir, type ClusterState} from '../cluster/state.js'
import {readOwnState, specPathOf, type ClusterRef} from './cluster.js'

export interface DestroyOptions extends ClusterRef {
  /** Asks for confirmation; absent when it cannot be asked (then `yes` is required). */
  confirm?: (question: string) => Promise<boolean>
  /** Confirmed up front (--yes). */
  yes: boolean
  report: Reporter
}

export interface DestroyResult {
  cluster: string
  /** False when there was nothing to destroy. */
  destroyed: boolean
  stopped: string[]
}

/**
 * @throws UserError CONFIRMATION_REQUIRED without --yes and no way to ask; ABORTED when declined;
 *   CLUSTER_SPEC_MISMATCH when the cluster of that name belongs to another spec.
 */
export async function destroy(options: DestroyOptions): Promise<DestroyResult> {
  const specPath = specPathOf(options)
  const spec = await loadSpec(specPath)
  const name = spec.metadata.name
  const stateDir = clusterDir(options.stateRoot, name)
  const state = await readOwnState(stateDir, spec, specPath)
  if (!state) return {cluster: name, destroyed: false, stopped: []}
  if (!options.yes) {
    if (!options.confirm) throw new UserError('CONFIRMATION_REQUIRED', `Refusing to destroy cluster ${name} without confirmation (no interactive terminal).`, {hint: 'Pass --yes to confirm.'})
    if (!(await options.confirm(`Destroy cluster ${name}: stop every process and delete its data?`))) throw new UserError('ABORTED', 'Destroy cancelled; nothing changed.')
  }
  const stopped: string[] = []
  // Last in the spec first: data planes go before their control plane.
  for (const node of Object.values(state.nodes).reverse()) {
    options.report.step(`Stopping ${node.name}`)
    const proc = launchedProcess(node)
    if (proc && (await stopNode(proc, hostFor(state, node.name))) !== 'gone') stopped.push(node.name)
  }
  if (state.embedded) {
    options.report.step('Stopping postgres and removing its data')
    const host = hostFor(state, DATABASE_NODE)
    await stopServer({process: launchedProcess(state.embedded), dataDir: state.embedded.instance.dataDir, host})
    stopped.push('postgres')
    // on another host its data goes with the cluster's folders there (uninstallHosts)
    if (host.isLocal) await removeData(state.embedded.instance)
  }
  const installed = Object.keys(state.installs ?? {})
  if (installed.length) options.report.step(`Removing what kctl installed on ${installed.join(', ')}`)
  await uninstallHosts(state, installed)
  await removeStateDir(stateDir)
  await rmdir(dirname(stateDir)).catch(() => {}) // the clusters/ folder, when it was the last one
  return {cluster: name, destroyed: true, stopped}
}

/**
 * On every other host of the cluster: its folders, its service user (when kctl created it),
 * and the bundle once no cluster uses it (remote-install.ts). Hosts are handled in parallel.
 */
export async function uninstallHosts(state: ClusterState, names: string[], options: {ignoreErrors?: boolean} = {}): Promise<void> {
  await Promise.all(
    names.map(async (name) => {
      const def = state.hosts?.[name]
      const host = def && hostNamed(name, def)
      if (!host) return
      const done = uninstallFrom(host, def.paths, state.name, state.installs?.[name])
      await (options.ignoreErrors ? done.catch(() => undefined) : done)
    }),
  )
}
