/** What the up phases share: the context of one run, the shape of a phase, launching a node. */
import {join} from 'node:path'
import type {Reporter} from '../kit/output.js'
import type {ProcessIdentity} from '../kit/process.js'
import {clusterConfValues} from './certificates.js'
import type {Host} from './hosts/host.js'
import {hostFor, processRunning} from './hosts/index.js'
import {startNode} from './launcher.js'
import {writeNodeConf} from './node-conf.js'
import {nodeExtraConf} from './spec-conf.js'
import {DATABASE_NODE, type ClusterSpec} from './spec.js'
import {launchedProcess, recordProcess, writeState, type ClusterState, type NodeState} from './state.js'

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
  /** What `run` would do (liveness is asked of each node's host, hence async). */
  plan(ctx: UpContext): Promise<string[]>
}

/** The host a node (or `postgres`) of this run's cluster runs on. */
export const hostOf = (ctx: UpContext, name: string): Host => hostFor(ctx.state, name)

/** The nodes this run should start: asked for and not running. */
export async function targets(ctx: UpContext): Promise<NodeState[]> {
  const asked = ctx.nodes.map((n) => ctx.state.nodes[n]).filter(Boolean)
  const running = await Promise.all(asked.map((n) => processRunning(ctx.state, n.name)))
  return asked.filter((_, i) => !running[i])
}

export const dbDown = async (ctx: UpContext): Promise<boolean> => Boolean(ctx.state.embedded) && !(await processRunning(ctx.state, DATABASE_NODE))

/** Whether this run started the node process `p`. */
export const startedHere = (ctx: UpContext, p: ProcessIdentity | undefined): boolean => Boolean(p && ctx.started.nodes.some((s) => s.pid === p.pid && s.start === p.start))

/** Nodes this run started, in spec order. */
export const startedNodes = (ctx: UpContext): NodeState[] => Object.values(ctx.state.nodes).filter((n) => startedHere(ctx, launchedProcess(n)))

/** Writes the node's kong.conf, spawns it detached and records it (for undo and for state). */
export async function launch(ctx: UpContext, node: NodeState): Promise<void> {
  const host = hostOf(ctx, node.name)
  await writeConfOf(ctx.spec, ctx.state, node)
  const proc = await startNode(node, host)
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
