/**
 * `kctl status`: the cluster at a glance (one read), and `kctl status --watch`'s feed
 * (sources polled on their own loops; every answer rebuilds the result).
 */
import {buildStatus, type Observations} from './status-build.js'
import type {ClusterRef} from './cluster.js'
import {readLocalCluster, readLogTail} from './status-local.js'
import {createProber, type Prober} from './status-probe.js'
import {observeAll, observeControlPlane, observeNode, pollLoop, readByControlPlaneSource} from './status-sources.js'
import type {StatusResult} from './status-types.js'

export type {StatusResult} from './status-types.js'

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
        if (current && !readByControlPlaneSource(local, current)) await observeNode(prober, current, obs)
        emit()
      }))
    }
  }
  const readLocal = async () => {
    local = await readLocalCluster(options).catch(() => local)
    ensureLoops()
    const focus = options.logFocus?.()
    const node = focus ? local.nodes.find((n) => n.name === focus) : undefined
    if (node && options.onLog) options.onLog(node.name, await readLogTail(node.logFile, options.logLines ?? 10))
    emit()
  }
  // One full round first, so the first result (and the dashboard's baseline) is complete.
  await observeAll(prober, local, obs)
  emit()
  loops.set('#local', pollLoop(options.intervalMs, abort.signal, readLocal))
  if (local.mode === 'hybrid') {
    loops.set('#cp', pollLoop(options.intervalMs, abort.signal, async () => {
      await observeControlPlane(prober, local, obs)
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

