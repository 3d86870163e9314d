/** Launching one node within an up run: its kong.conf, the detached process, the record kept for undo and state. */
import {join} from 'node:path'
import {entryPath} from '../runtime/supervisor/entry.js'
import {clusterConfValues} from './certificates.js'
import {startNode} from './launcher.js'
import {writeNodeConf} from './node-conf.js'
import {hostFor} from './hosts/index.js'
import {hostOf, type UpContext} from './phase.js'
import {runtimeEntryOf} from './runtime-install.js'
import {nodeExtraConf} from './spec-conf.js'
import type {ClusterSpec} from './spec.js'
import {recordProcess, writeState, type ClusterState, type NodeState} from './state.js'

/**
 * Writes the node's kong.conf, spawns it detached from its version's installed runtime
 * (written to `<prefix>/runtime.entry` too, so a reload or handover keeps that code) and
 * records it (for undo and for state).
 */
export async function launch(ctx: UpContext, node: NodeState): Promise<void> {
  const host = hostOf(ctx, node.name)
  await writeConfOf(ctx.spec, ctx.state, node)
  const entry = await runtimeEntryOf(host, ctx.stateDir, ctx.state, node)
  await host.writeFile(entryPath(node.prefix), `${entry}\n`)
  const proc = await startNode(node, host, entry)
  recordProcess(node, proc)
  node.intent = 'running'
  ctx.started.nodes.push(proc)
  ctx.report.info(`${node.name} started (pid ${node.pid}), log ${join('nodes', node.name, 'logs', 'node.log')}`)
  await writeState(ctx.stateDir, ctx.state)
}

/** Writes the node's kong.conf from the cluster's state and the spec's `conf` (launch, reload). */
export async function writeConfOf(spec: ClusterSpec, state: ClusterState, node: NodeState): Promise<string> {
  return writeNodeConf({cluster: state.name, node, connection: state.connection, clustering: clusterConfValues(state, node), extra: nodeExtraConf(spec.spec, node.name), host: hostFor(state, node.name)})
}
