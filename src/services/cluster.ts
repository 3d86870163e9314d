/** Finding the cluster a command acts on: the spec (./kctl.yaml or --spec), then its state. */
import {resolve} from 'node:path'
import {UserError} from '../kit/errors.js'
import {clusterDir} from '../kit/paths.js'
import {isAlive} from '../kit/process.js'
import {DATABASE_NODE, loadSpec, type ClusterSpec} from '../cluster/spec.js'
import {readState, type ClusterState, type Intent} from '../cluster/state.js'
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

export const specPathOf = (ref: ClusterRef): string => resolve(ref.specPath ?? 'kctl.yaml')

/** @throws UserError SPEC_NOT_FOUND, SPEC_INVALID, CLUSTER_NOT_FOUND */
export async function loadCluster(ref: ClusterRef): Promise<LoadedCluster> {
  const specPath = specPathOf(ref)
  const spec = await loadSpec(specPath)
  const stateDir = clusterDir(ref.stateRoot, spec.metadata.name)
  const state = await readState(stateDir)
  if (!state) {
    throw new UserError('CLUSTER_NOT_FOUND', `Cluster ${spec.metadata.name} (from ${specPath}) is not set up on this machine.`, {hint: 'Run `kctl init` to create it.'})
  }
  syncNodes(state, spec, stateDir)
  return {spec, specPath, stateDir, state}
}

export type ProcessState = 'running' | 'stopped' | 'failed'

/** running: alive; failed: meant to run but gone; stopped: not meant to run. */
export function processState(pid: number | undefined, intent: Intent): ProcessState {
  if (isAlive(pid)) return 'running'
  return intent === 'running' ? 'failed' : 'stopped'
}

/** Checks a NODE argument against the spec (and the database name). @throws UserError NODE_NOT_FOUND */
export function checkNodeName(c: LoadedCluster, node: string | undefined): void {
  if (!node) return
  const names = [...(c.state.embedded ? [DATABASE_NODE] : []), ...Object.keys(c.state.nodes)]
  if (!names.includes(node)) {
    throw new UserError('NODE_NOT_FOUND', `No node named "${node}" in cluster ${c.state.name}.`, {hint: `Nodes: ${names.join(', ')}. See \`kctl nodes\`.`})
  }
}
