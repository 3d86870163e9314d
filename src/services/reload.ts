/**
 * Replacing a running node's processes without closing its listening sockets:
 *
 * - `kctl reload [NODE]` (as `kong reload`): the node's supervisor starts a new serving
 *   process beside the running one (SIGHUP); the old one drains and exits.
 * - `kctl restart` (rolling, the default): a new supervisor takes the sockets over from the
 *   old one (SIGUSR2, as nginx's binary upgrade), so the whole node, supervisor included,
 *   runs afresh; kctl records the new supervisor's pid.
 *
 * Either way kong.conf is rewritten from kctl.yaml first, control planes go first and then
 * the other nodes, one at a time, each ready (a data plane: in sync with its control plane)
 * before the next. See src/runtime/supervisor/ for the node's side.
 *
 *   write kong.conf ─► signal (identity checked) ─► supervisor.json `last_reload`/`last_handover`
 *     ok ─► (restart: record the new pid, wait ready and in sync) ─► next node
 *     failed ─► old kong.conf back, stop here, NODE_RELOAD_FAILED (the node keeps serving)
 */
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {ExternalError, UserError} from '../kit/errors.js'
import type {Host} from '../cluster/hosts/host.js'
import {hostFor, processRunning} from '../cluster/hosts/index.js'
import {waitNodeReady} from '../cluster/launcher.js'
import {confToServiceUser, writeConfOf} from '../cluster/launch.js'
import {nodeExtraConf} from '../cluster/spec-conf.js'
import {DATABASE_NODE} from '../cluster/spec.js'
import {launchedProcess, recordProcess, writeState, type NodeState} from '../cluster/state.js'
import {waitInSync} from '../cluster/sync.js'
import {parseRecord, pidFilePath, recordPath, type SupervisionRecord} from '../runtime/supervisor/record.js'
import {checkNodeName, loadCluster, type ClusterRef, type LoadedCluster} from './cluster.js'
import type {Reporter} from '../kit/output.js'

export interface ReloadOptions extends ClusterRef {
  /** One node; absent: every node. */
  node?: string
  report: Reporter
}

export interface ReloadResult {
  cluster: string
  /** Serving with the new configuration, in the order they were reloaded. */
  reloaded: string[]
  /** Not running: `kctl start` starts them with the new configuration. */
  not_running: string[]
}

/** How long kctl waits for a node's verdict; the supervisor gives up on a new process at 60 s. */
const VERDICT_TIMEOUT_MS = 90_000
/** How long a restart waits for the old supervisor to exit after the handover (its drain is bounded by 30 s). */
const OLD_EXIT_TIMEOUT_MS = 45_000

type How = 'reload' | 'handover'

export async function reload(options: ReloadOptions): Promise<ReloadResult> {
  if (options.node === DATABASE_NODE) {
    throw new UserError('NODE_NOT_FOUND', `${DATABASE_NODE} cannot be reloaded: it is the database, not a gateway node.`, {hint: `\`kctl restart ${DATABASE_NODE}\` restarts it (its nodes reconnect).`})
  }
  const c = await loadCluster(options)
  checkNodeName(c, options.node)
  const result: ReloadResult = {cluster: c.state.name, reloaded: [], not_running: []}
  for (const node of rollingOrder(c, options.node)) {
    if (!(await processRunning(c.state, node.name))) {
      options.report.warn(`${node.name} is not running; \`kctl start ${node.name}\` starts it with the new configuration`)
      result.not_running.push(node.name)
      continue
    }
    options.report.step(`Reloading ${node.name}`)
    const why = await cannotReplace(c, node, 'reload')
    if (why) throw why
    if (await replace(c, node, 'reload')) result.reloaded.push(node.name)
    else result.not_running.push(node.name)
  }
  return result
}

/** The node, or every node: control planes first, then the others in spec order. */
export function rollingOrder(c: LoadedCluster, name?: string): NodeState[] {
  if (name) return [c.state.nodes[name]]
  const all = Object.values(c.state.nodes)
  return [...all.filter((n) => n.role === 'control_plane'), ...all.filter((n) => n.role !== 'control_plane')]
}

/** Why this running node cannot be replaced in place, or undefined. */
export async function cannotReplace(c: LoadedCluster, node: NodeState, how: How): Promise<UserError | undefined> {
  const host = hostFor(c.state, node.name)
  const record = await readRecordOn(host, node.prefix)
  const field = how === 'reload' ? 'reloads' : 'last_handover'
  if (!record || !(field in record)) {
    // a supervisor without it would take the signal for a request to exit
    return new UserError('NODE_RELOAD_FAILED', `${node.name} runs a runtime that cannot ${how === 'reload' ? 'reload' : 'hand its sockets over'} (started by an older kctl).`, {
      hint: `Run \`kctl restart --all-at-once ${node.name}\` once (connections are refused while it restarts); later ones keep its sockets open.`,
    })
  }
  if (how === 'handover' && node.host && c.state.installs?.[node.host]?.systemd && !(await host.exists(pidFilePath(node.prefix)))) {
    // systemd would take the old supervisor's exit for the unit's end and stop the new one
    return new UserError('NODE_RELOAD_FAILED', `${node.name} runs as a systemd unit from a runtime that does not tell systemd where the node goes on a handover (started by an older kctl).`, {
      hint: `Run \`kctl restart --all-at-once ${node.name}\` once (connections are refused while it restarts); later ones keep its sockets open.`,
    })
  }
  const workers = nodeExtraConf(c.spec.spec, node.name).node_worker_processes
  if (workers !== undefined && workers !== '1') {
    return new UserError('NODE_RELOAD_FAILED', `${node.name} has node_worker_processes = ${workers}: its proxy workers bind their own sockets, which cannot be handed over.`, {
      hint: `Run \`kctl restart --all-at-once ${node.name}\` (connections are refused while it restarts), or set node_worker_processes = 1 for it.`,
    })
  }
  return undefined
}

/**
 * Rewrites the node's kong.conf and replaces its serving process (reload) or its whole
 * process tree (handover). False when the node stopped before the signal.
 * @throws ExternalError NODE_RELOAD_FAILED when the new process did not start (the old
 *   one keeps serving, its kong.conf is put back)
 */
export async function replace(c: LoadedCluster, node: NodeState, how: How): Promise<boolean> {
  const host = hostFor(c.state, node.name)
  const previous = (await host.readFile(node.confPath)) ?? ''
  await writeConfOf(c.spec, c.state, node)
  const asked = Date.now()
  const proc = launchedProcess(node)
  if (!proc || !(await host.signal(proc, how === 'reload' ? 'SIGHUP' : 'SIGUSR2'))) {
    await host.writeFile(node.confPath, previous, {mode: 0o600})
    await confToServiceUser(c.state, node, host)
    return false
  }
  const r = await waitVerdict(host, node.prefix, how, asked)
  const answer = r && (how === 'reload' ? r.last_reload : r.last_handover)
  const answered = answer && answer.at >= asked ? answer : null
  if (!answered?.ok) {
    // the node keeps serving with the previous conf: a later restart after a crash must too
    await host.writeFile(node.confPath, previous, {mode: 0o600})
    await confToServiceUser(c.state, node, host)
    throw await replaceFailure(host, node, how, answered?.error ?? (r && r.state !== 'running' ? `the node ${r.state === 'failed' ? `failed: ${r.failure}` : 'stopped'}` : `no answer within ${VERDICT_TIMEOUT_MS / 1000} s`))
  }
  if (how === 'handover') {
    // the node is the new supervisor from now on
    const id = r ? await host.processIdentity(r.pid) : undefined
    if (!id || !id.command.includes(node.confPath)) throw await replaceFailure(host, node, how, `the new supervisor (pid ${r?.pid}) is not running`)
    recordProcess(node, id)
    await writeState(c.stateDir, c.state)
    await waitNodeReady(node, host, id, {path: node.role === 'data_plane' ? '/status' : '/status/ready'})
    let cp: NodeState | undefined
    for (const n of Object.values(c.state.nodes)) if (!cp && n.role === 'control_plane' && (await processRunning(c.state, n.name))) cp = n
    if (node.role === 'data_plane' && cp) await waitInSync(c.state, cp, [node])
    // restarted means the old process tree is gone: it drains (at most 30 s) and exits
    const deadline = Date.now() + OLD_EXIT_TIMEOUT_MS
    while ((await host.isSameProcess(proc)) && Date.now() < deadline) await sleep(100)
  } else {
    // listen values from the spec are now the node's: status and logs look there
    await writeState(c.stateDir, c.state)
  }
  return true
}

async function replaceFailure(host: Host, node: NodeState, how: How, why: string): Promise<ExternalError> {
  const log = (await host.readFile(node.logFile).catch(() => undefined))?.toString('utf8') ?? ''
  const reason = log.split('\n').reverse().find((l) => l.startsWith('Error: '))?.slice('Error: '.length)
  return new ExternalError('NODE_RELOAD_FAILED', `${node.name} was not ${how === 'reload' ? 'reloaded' : 'restarted'}: ${why}${reason && !why.includes(reason) ? ` (${reason})` : ''}. It keeps serving with its previous configuration.`, '', {
    hint: `Fix the node's conf in kctl.yaml and run the command again; \`kctl logs ${node.name}\` shows the new process's output (${join('nodes', node.name, 'logs', 'node.log')}).`,
  })
}

/** The record once it answers the signal sent at `asked` (or says the node is down). */
async function waitVerdict(host: Host, prefix: string, how: How, asked: number): Promise<SupervisionRecord | null> {
  const deadline = Date.now() + VERDICT_TIMEOUT_MS
  let r: SupervisionRecord | null = null
  while (Date.now() < deadline) {
    r = await readRecordOn(host, prefix)
    const answer = r && (how === 'reload' ? r.last_reload : r.last_handover)
    if (answer && answer.at >= asked) return r
    if (r && r.state !== 'running') return r
    await sleep(100)
  }
  return r
}

/** The supervisor's record in `prefix` on the node's host, or null. */
async function readRecordOn(host: Host, prefix: string): Promise<SupervisionRecord | null> {
  const text = await host.readFile(recordPath(prefix)).catch(() => undefined)
  return text ? parseRecord(text.toString('utf8')) : null
}
