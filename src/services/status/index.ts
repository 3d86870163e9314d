/**
 * `kctl status`: the cluster at a glance (one read), and `kctl status --watch`'s feed
 * (sources polled on their own loops; every answer rebuilds the result).
 */
import {buildStatus, CP_STOPPED, type Observations} from './build.js'
import type {ClusterRef} from '../cluster.js'
import {nodeHost, readLocalCluster, readLogTail} from './local.js'
import {createProber, type Prober} from './probe.js'
import {observeAll, observeControlPlane, observeNode, pollLoop, readByControlPlaneSource} from './poll.js'
import type {StatusResult} from './types.js'

export type {StatusResult} from './types.js'

export interface StatusOptions extends ClusterRef {
  /** Per-request timeout (default 2000 ms). */
  timeoutMs?: number
}

/** One read of every source. @throws UserError when the cluster is not found. */
export async function status(options: StatusOptions): Promise<StatusResult> {
  const local = await readLocalCluster(options)
  const prober = createProber({timeoutMs: options.timeoutMs})
  const obs: Observations = {nodes: {}, cp: null}
  try {
    await observeAll(prober, local, obs)
  } finally {
    await prober.close()
  }
  return buildStatus(local, obs, Date.now() / 1000)
}

export interface WatchOptions extends StatusOptions {
  /** Poll period per source. */
  intervalMs: number
  /** Called after every answer with the rebuilt result (the caller dedups). */
  onStatus(status: StatusResult): void
  /** Asked each local-source cycle: the node whose log lines are wanted, if any. */
  logFocus?(): string | null
  onLog?(node: string, lines: string[]): void
  /** Log lines kept for the focused node. */
  logLines?: number
}

export interface StatusWatch {
  /** Stops every loop and closes the connections; resolves when nothing is in flight. */
  stop(): Promise<void>
}

/**
 * Starts watching. The first read of the spec and state happens before this resolves,
 * so a missing cluster fails here. @throws UserError when the cluster is not found.
 */
export async function watchStatus(options: WatchOptions): Promise<StatusWatch> {
  let local = await readLocalCluster(options)
  const prober: Prober = createProber({timeoutMs: Math.max(1000, Math.min(5000, options.intervalMs * 2))})
  const obs: Observations = {nodes: {}, cp: null}
  const abort = new AbortController()
  const emit = () => options.onStatus(buildStatus(local, obs, Date.now() / 1000))
  const loops = new Map<string, Promise<void>>()
  const ensureLoops = () => {
    for (const n of local.nodes) {
      if (loops.has(n.name)) continue
      loops.set(n.name, pollLoop(options.intervalMs, abort.signal, async () => {
        const current = local.nodes.find((x) => x.name === n.name)
        if (current && !readByControlPlaneSource(local, current)) {
          const draft: Observations = {nodes: {}, cp: null}
          await observeNode(prober, current, draft)
          // A node that stops answering may just have been stopped by kctl: read the state
          // before showing it (other loops emit meanwhile), so an orderly stop never
          // flashes as unreachable.
          if (draft.nodes[n.name]?.ok === false) await refreshLocal()
          const probe = draft.nodes[n.name]
          if (probe && local.nodes.find((x) => x.name === n.name)?.state === 'running') obs.nodes[n.name] = probe
          else delete obs.nodes[n.name]
        }
        emit()
      }))
    }
  }
  const refreshLocal = async () => {
    local = await readLocalCluster(options).catch(() => local)
    for (const n of local.nodes) if (n.state !== 'running') delete obs.nodes[n.name]
  }
  const readLocal = async () => {
    await refreshLocal()
    ensureLoops()
    const focus = options.logFocus?.()
    const node = focus ? local.nodes.find((n) => n.name === focus) : undefined
    if (node && options.onLog) options.onLog(node.name, await readLogTail(nodeHost(local, node), node.logFile, options.logLines ?? 10))
    emit()
  }
  // One full round first, so the first result (and the dashboard's baseline) is complete.
  await observeAll(prober, local, obs)
  emit()
  loops.set('#local', pollLoop(options.intervalMs, abort.signal, readLocal))
  if (local.mode === 'hybrid') {
    loops.set('#cp', pollLoop(options.intervalMs, abort.signal, async () => {
      // Read into a draft; other loops emit meanwhile and must not show a half-checked failure.
      let draft: Observations = {nodes: {}, cp: obs.cp}
      await observeControlPlane(prober, local, draft)
      if (draft.cp?.error && draft.cp.error !== CP_STOPPED) {
        // As for nodes: a CP kctl is stopping is not an unreachable one.
        await refreshLocal()
        if (local.nodes.find((n) => n.name === draft.cp!.node)?.state === 'stopped') {
          draft = {nodes: {}, cp: obs.cp}
          await observeControlPlane(prober, local, draft)
        }
      }
      obs.cp = draft.cp
      for (const [name, probe] of Object.entries(draft.nodes)) obs.nodes[name] = probe
      emit()
    }))
  }
  return {
    async stop() {
      abort.abort()
      await Promise.all(loops.values())
      await prober.close()
    },
  }
}

