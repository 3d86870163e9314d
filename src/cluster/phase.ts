/** What the up phases share: the shape of a phase and the context of one run, with the questions phases ask of it. Launching a node is launch.ts. */
import type {Reporter} from '../kit/output.js'
import type {ProcessIdentity} from '../kit/process.js'
import type {Host} from './hosts/host.js'
import {hostFor, processRunning} from './hosts/index.js'
import {LOCAL_HOST_NAME} from './spec-hosts.js'
import {DATABASE_NODE, type ClusterSpec} from './spec.js'
import {launchedProcess, type ClusterState, type NodeState} from './state.js'

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
  /** Bytes this run sent to each other host (installs). */
  uploaded?: Record<string, number>
}

export interface Phase {
  title: string
  run(ctx: UpContext): Promise<void>
  /** What `run` would do (liveness is asked of each node's host, hence async). */
  plan(ctx: UpContext): Promise<string[]>
  /** False when the phase has nothing to do for this run: neither run nor shown. Default: applies. */
  applies?(ctx: UpContext): Promise<boolean>
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

/** Whether the node runs on another host than this machine. */
export const onOtherHost = (n: NodeState): boolean => Boolean(n.host && n.host !== LOCAL_HOST_NAME)

/** How a check that fails in the middle of a run ends its hint: runPhases stops what the run started. */
export const RERUN_AFTER_UNDO = 'run the command again; what this run had started was stopped again.'

/** Nodes this run started, in spec order. */
export const startedNodes = (ctx: UpContext): NodeState[] => Object.values(ctx.state.nodes).filter((n) => startedHere(ctx, launchedProcess(n)))
