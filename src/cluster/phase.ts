/** What the up phases share: the shape of a phase and the context of one run, with the questions phases ask of it. Launching a node is launch.ts. */
import type {Reporter} from '../kit/output.js'
import type {ProcessIdentity} from '../kit/process.js'
import type {ClusterSpec} from './spec.js'
import {isRunning, launchedProcess, type ClusterState, type NodeState} from './state.js'

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
