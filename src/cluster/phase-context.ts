/** What the up phases share: the context of one run, the shape of a phase, launching a node. */
import {join} from 'node:path'
import type {Reporter} from '../kit/output.js'
import type {ProcessIdentity} from '../kit/process.js'
import {clusterConfValues} from './certificates.js'
import {startNode} from './launcher.js'
import {writeNodeConf} from './node-conf.js'
import {nodeExtraConf} from './spec-conf.js'
import type {ClusterSpec} from './spec.js'
import {isRunning, launchedProcess, recordProcess, writeState, type ClusterState, type NodeState} from './state.js'

export interface UpContext {
  spec: ClusterSpec
  specPath: string
  stateDir: string
  state: ClusterState
  /** Nodes to bring up; the (embedded) database is always brought up first. */
  nodes: string[]
  report: Reporter
  /** What this run started, so a failure can undo it. */
  started: {database?: ProcessIdentity; nodes: ProcessIdentity[]}
}

export interface Phase {
  title: string
  run(ctx: UpContext): Promise<void>
  plan(ctx: UpContext): string[]
}

/** The nodes this run should start: asked for and not running. */
export const targets = (ctx: UpContext): NodeState[] => ctx.nodes.map((n) => ctx.state.nodes[n]).filter((n) => n && !isRunning(n))

export const dbDown = (ctx: UpContext): boolean => Boolean(ctx.state.embedded && !isRunning(ctx.state.embedded))

/** Whether this run started the node process `p`. */
export const startedHere = (ctx: UpContext, p: ProcessIdentity | undefined): boolean => Boolean(p && ctx.started.nodes.some((s) => s.pid === p.pid && s.start === p.start))

/** Nodes this run started, in spec order. */
export const startedNodes = (ctx: UpContext): NodeState[] => Object.values(ctx.state.nodes).filter((n) => startedHere(ctx, launchedProcess(n)))

/** Writes the node's kong.conf, spawns it detached and records it (for undo and for state). */
export async function launch(ctx: UpContext, node: NodeState): Promise<void> {
  await writeConfOf(ctx.spec, ctx.state, node)
  const proc = await startNode(node)
  recordProcess(node, proc)
  node.intent = 'running'
  ctx.started.nodes.push(proc)
  ctx.report.info(`${node.name} started (pid ${node.pid}), log ${join('nodes', node.name, 'logs', 'node.log')}`)
  await writeState(ctx.stateDir, ctx.state)
}

/** Writes the node's kong.conf from the cluster's state and the spec's `conf` (launch, reload). */
export async function writeConfOf(spec: ClusterSpec, state: ClusterState, node: NodeState): Promise<string> {
  return writeNodeConf({cluster: state.name, node, connection: state.connection, clustering: clusterConfValues(state, node), extra: nodeExtraConf(spec.spec, node.name)})
}
