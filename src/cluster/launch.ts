/** Launching one node within an up run: its kong.conf, the detached process, the record kept for undo and state. */
import {join} from 'node:path'
import {clusterConfValues} from './certificates.js'
import {startNode} from './launcher.js'
import {writeNodeConf} from './node-conf.js'
import type {UpContext} from './phase.js'
import {nodeExtraConf} from './spec-conf.js'
import {recordProcess, writeState, type NodeState} from './state.js'

/** Writes the node's kong.conf, spawns it detached and records it (for undo and for state). */
export async function launch(ctx: UpContext, node: NodeState): Promise<void> {
  await writeNodeConf({cluster: ctx.state.name, node, connection: ctx.state.connection, clustering: clusterConfValues(ctx.state, node), extra: nodeExtraConf(ctx.spec.spec, node.name)})
  const proc = await startNode(node)
  recordProcess(node, proc)
  node.intent = 'running'
  ctx.started.nodes.push(proc)
  ctx.report.info(`${node.name} started (pid ${node.pid}), log ${join('nodes', node.name, 'logs', 'node.log')}`)
  await writeState(ctx.stateDir, ctx.state)
}
