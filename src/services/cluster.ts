/** Finding the cluster a command acts on: the spec (./kctl.yaml or --spec), then its state. */
import {existsSync, realpathSync} from 'node:fs'
import {basename, dirname, join, resolve} from 'node:path'
import {UserError} from '../kit/errors.js'
import {clusterDir} from '../kit/paths.js'
import {DATABASE_NODE, loadSpec, type ClusterSpec} from '../cluster/spec.js'
import {hostFor, processRunning} from '../cluster/hosts/index.js'
import {localHost} from '../cluster/hosts/local.js'
import {adoptBarePids, followRestartedNodes, launchedProcess, readState, writeState, type ClusterState, type Intent, type Launched} from '../cluster/state.js'
import {syncNodes} from '../cluster/topology.js'

export interface ClusterRef {
  /** The spec file (default ./kctl.yaml). */
  specPath?: string
  /** State root (KCTL_DATA_DIR or oclif's data dir). */
  stateRoot: string
}

export interface LoadedCluster {
  spec: ClusterSpec
  specPath: string
  stateDir: string
  state: ClusterState
}

/** The spec's absolute, real path (symlinks resolved): what binds a cluster to its spec. */
export const specPathOf = (ref: ClusterRef): string => realPath(resolve(ref.specPath ?? 'kctl.yaml'))

/** `path` with symlinks resolved; a file not there yet gets its folder's real path. */
function realPath(path: string): string {
  try {
    return realpathSync.native(path)
  } catch {
    try {
      return join(realpathSync.native(dirname(path)), basename(path))
    } catch {
      return path
    }
  }
}

/**
 * The state of the cluster `spec` names, when it belongs to the spec at `specPath`.
 *
 * Clusters are kept by `metadata.name`, so a second spec with the same name (a copied
 * folder, a second project) would otherwise drive, stop and destroy the first one's cluster.
 * The state records the real path of the spec it was created from; any other spec is
 * refused, unless `adopt` (`kctl init --adopt`: this spec replaces the recorded one; the caller
 * rebinds the state it gets).
 * A state written with a path that is not the real one (older versions) is bound to the spec
 * that path resolves to, and its bare pids are checked (adoptBarePids). A node started again
 * by its host's service manager is followed to its new process (followRestartedNodes).
 * @throws UserError CLUSTER_SPEC_MISMATCH
 */
export async function readOwnState(stateDir: string, spec: ClusterSpec, specPath: string, options: {adopt?: boolean} = {}): Promise<ClusterState | undefined> {
  const state = await readState(stateDir)
  if (!state) return undefined
  if (state.specPath !== specPath && realPath(state.specPath) === specPath) state.specPath = specPath
  if (state.specPath !== specPath && !options.adopt) throw await specMismatch(spec.metadata.name, state.specPath, specPath)
  await adoptBarePids(state, (name) => hostFor(state, name))
  // a node systemd started again runs under another pid: it is still this cluster's node
  if ((await followRestartedNodes(state, (name) => hostFor(state, name))).length) await writeState(stateDir, state)
  return state
}

async function specMismatch(name: string, owner: string, specPath: string): Promise<UserError> {
  const adopt = `\`kctl init --adopt --spec ${specPath}\``
  const ownerName = await loadSpec(owner).then((s) => s.metadata.name, () => undefined)
  if (ownerName === name) {
    return new UserError('CLUSTER_SPEC_MISMATCH', `The cluster named ${name} on this machine belongs to ${owner}, not to ${specPath}. Nothing was changed.`, {
      hint: `Both specs say metadata.name: ${name}. Give ${specPath} another metadata.name to make it a cluster of its own, or act on that cluster through its own spec (e.g. \`kctl destroy --spec ${owner}\`). If ${specPath} replaces ${owner}, run ${adopt}.`,
    })
  }
  const gone = ownerName === undefined && !existsSync(owner) ? 'is no longer there' : ownerName === undefined ? 'cannot be read' : `now names cluster ${ownerName}`
  return new UserError('CLUSTER_SPEC_MISMATCH', `The cluster named ${name} on this machine was created from ${owner}, not from ${specPath}; ${owner} ${gone}. Nothing was changed.`, {
    hint: `If ${specPath} replaces that spec (moved or renamed), run ${adopt} to bind the cluster to it; otherwise give ${specPath} another metadata.name.`,
  })
}

/** @throws UserError SPEC_NOT_FOUND, SPEC_INVALID, CLUSTER_NOT_FOUND, CLUSTER_SPEC_MISMATCH */
export async function loadCluster(ref: ClusterRef): Promise<LoadedCluster> {
  const specPath = specPathOf(ref)
  const spec = await loadSpec(specPath)
  const stateDir = clusterDir(ref.stateRoot, spec.metadata.name)
  const state = await readOwnState(stateDir, spec, specPath)
  if (!state) {
    throw new UserError('CLUSTER_NOT_FOUND', `Cluster ${spec.metadata.name} (from ${specPath}) is not set up on this machine.`, {hint: 'Run `kctl init` to create it.'})
  }
  syncNodes(state, spec, stateDir)
  return {spec, specPath, stateDir, state}
}

export type ProcessState = 'running' | 'stopped' | 'failed'

/**
 * running: the recorded process still runs; failed: meant to run but gone (or its pid now
 * belongs to another process); stopped: not meant to run. `running` is its host's answer
 * (see processStateOf); without it, the process is looked up on this machine.
 */
export function processState(p: Launched & {intent: Intent}, running: boolean = localHost.isSameProcessNow(launchedProcess(p))): ProcessState {
  if (running) return 'running'
  return p.intent === 'running' ? 'failed' : 'stopped'
}

/** processState of a node (or `postgres`) of the cluster, asked of the host it runs on. */
export async function processStateOf(state: ClusterState, name: string): Promise<ProcessState> {
  const p = name === DATABASE_NODE ? state.embedded : state.nodes[name]
  if (!p) return 'stopped'
  return processState(p, await processRunning(state, name))
}

/** Checks a NODE argument against the spec (and the database name). @throws UserError NODE_NOT_FOUND */
export function checkNodeName(c: LoadedCluster, node: string | undefined): void {
  if (!node) return
  const names = [...(c.state.embedded ? [DATABASE_NODE] : []), ...Object.keys(c.state.nodes)]
  if (!names.includes(node)) {
    throw new UserError('NODE_NOT_FOUND', `No node named "${node}" in cluster ${c.state.name}.`, {hint: `Nodes: ${names.join(', ')}. See \`kctl nodes\`.`})
  }
}
