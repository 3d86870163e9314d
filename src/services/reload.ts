/**
 * `kctl reload [NODE]` (as `kong reload`): each node picks up its kong.conf, rewritten from
 * kctl.yaml, and the runtime's code, without closing a listening socket. The node's
 * supervisor starts a new serving process beside the running one, which drains and exits
 * once the new one serves (src/runtime/supervisor/). Control planes go first, then the
 * other nodes, one at a time.
 *
 *   write kong.conf ─► SIGHUP (identity checked) ─► supervisor.json `last_reload`
 *     ok ─► next node          failed ─► old kong.conf back, stop here, NODE_RELOAD_FAILED
 */
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {ExternalError, UserError} from '../kit/errors.js'
import type {Reporter} from '../kit/output.js'
import {signalProcess} from '../kit/process.js'
import {writeConfOf} from '../cluster/phase-context.js'
import {nodeExtraConf} from '../cluster/spec-conf.js'
import {DATABASE_NODE} from '../cluster/spec.js'
import {isRunning, launchedProcess, writeState, type NodeState} from '../cluster/state.js'
import {readRecord, type SupervisionRecord} from '../runtime/supervisor/record.js'
import {checkNodeName, loadCluster, type LoadedCluster} from './cluster.js'
import type {LifecycleOptions} from './lifecycle.js'

export interface ReloadResult {
  cluster: string
  /** Serving with the new configuration, in the order they were reloaded. */
  reloaded: string[]
  /** Not running: `kctl start` starts them with the new configuration. */
  not_running: string[]
}

/** How long kctl waits for a node's verdict; the supervisor gives up on a new process at 60 s. */
const VERDICT_TIMEOUT_MS = 90_000

export async function reload(options: LifecycleOptions): Promise<ReloadResult> {
  if (options.node === DATABASE_NODE) {
    throw new UserError('NODE_NOT_FOUND', `${DATABASE_NODE} cannot be reloaded: it is the database, not a gateway node.`, {hint: `\`kctl restart ${DATABASE_NODE}\` restarts it (its nodes reconnect).`})
  }
  const c = await loadCluster(options)
  checkNodeName(c, options.node)
  const all = Object.values(c.state.nodes)
  const order = options.node ? [c.state.nodes[options.node]] : [...all.filter((n) => n.role === 'control_plane'), ...all.filter((n) => n.role !== 'control_plane')]
  const result: ReloadResult = {cluster: c.state.name, reloaded: [], not_running: []}
  for (const node of order) {
    if (!isRunning(node)) {
      options.report.warn(`${node.name} is not running; \`kctl start ${node.name}\` starts it with the new configuration`)
      result.not_running.push(node.name)
      continue
    }
    options.report.step(`Reloading ${node.name}`)
    if (await reloadOne(c, node)) result.reloaded.push(node.name)
    else result.not_running.push(node.name)
  }
  return result
}

/** False when the node stopped before the signal. */
async function reloadOne(c: LoadedCluster, node: NodeState): Promise<boolean> {
  const record = readRecord(node.prefix)
  if (typeof record?.reloads !== 'number') {
    // a supervisor without reloads would take SIGHUP for the end of its session and exit
    throw new UserError('NODE_RELOAD_FAILED', `${node.name} runs a runtime that cannot reload (started by an older kctl).`, {hint: `Run \`kctl restart ${node.name}\` once; later reloads keep its sockets open.`})
  }
  const workers = nodeExtraConf(c.spec.spec, node.name).node_worker_processes
  if (workers !== undefined && workers !== '1') {
    throw new UserError('NODE_RELOAD_FAILED', `${node.name} has node_worker_processes = ${workers}: its proxy workers bind their own sockets, which a reload cannot hand over.`, {
      hint: `Run \`kctl restart ${node.name}\` (connections are refused while it restarts), or set node_worker_processes = 1 for it.`,
    })
  }
  const confFile = node.confPath
  const previous = await readFile(confFile)
  await writeConfOf(c.spec, c.state, node)
  const asked = Date.now()
  const proc = launchedProcess(node)
  if (!proc || !signalProcess(proc, 'SIGHUP')) {
    await writeFile(confFile, previous, {mode: 0o600})
    return false
  }
  const verdict = await waitVerdict(node.prefix, asked)
  const answered = verdict?.last_reload && verdict.last_reload.at >= asked ? verdict.last_reload : null
  if (answered?.ok) {
    // listen values from the spec are now the node's: status and logs look there
    await writeState(c.stateDir, c.state)
    return true
  }
  // the node keeps serving with the previous conf: a later restart after a crash must too
  await writeFile(confFile, previous, {mode: 0o600})
  const why = answered?.error ?? (verdict && verdict.state !== 'running' ? `the node ${verdict.state === 'failed' ? `failed: ${verdict.failure}` : 'stopped'}` : `no answer within ${VERDICT_TIMEOUT_MS / 1000} s`)
  const log = await readFile(node.logFile, 'utf8').catch(() => '')
  const reason = log.split('\n').reverse().find((l) => l.startsWith('Error: '))
  throw new ExternalError('NODE_RELOAD_FAILED', `${node.name} was not reloaded: ${why}${reason && !why.includes(reason.slice(7)) ? ` (${reason.slice(7)})` : ''}. It keeps serving with its previous configuration.`, '', {
    hint: `Fix the node's conf in kctl.yaml and run \`kctl reload ${node.name}\` again; \`kctl logs ${node.name}\` shows the new process's output (${join('nodes', node.name, 'logs', 'node.log')}).`,
  })
}

async function waitVerdict(prefix: string, asked: number): Promise<SupervisionRecord | null> {
  const deadline = Date.now() + VERDICT_TIMEOUT_MS
  while (Date.now() < deadline) {
    const r = readRecord(prefix)
    if (r?.last_reload && r.last_reload.at >= asked) return r
    if (r && r.state !== 'running') return r
    await sleep(100)
  }
  return null
}
