/**
 * What kctl knows about a cluster without asking any node: the spec and state, each
 * process's state and start time, each local DP's node id (`<prefix>/kong.id`, to match
 * the CP's `/clustering/data-planes` rows), the ping interval from the nodes' conf.
 */
import {join} from 'node:path'
import type {Host} from '../../cluster/hosts/host.js'
import {hostFor, hostNamed, localHost, processRunning, reachUrl} from '../../cluster/hosts/index.js'
import {certificateInventory, type CertificateEntry} from '../../cluster/cert-inventory.js'
import {listenUrl} from '../../cluster/listen.js'
import {DATABASE_NODE, type Mode} from '../../cluster/spec.js'
import {LOCAL_HOST_NAME, type ResolvedHost} from '../../cluster/spec-hosts.js'
import type {PgConnection} from '../../cluster/postgres.js'
import {parseConfText} from '../../runtime/conf/load.js'
import {parseRecord, recordPath, type SupervisionRecord} from '../../runtime/supervisor/record.js'
import {readState, type Intent, type Launched} from '../../cluster/state.js'
import {loadCluster, type ClusterRef, type ProcessState} from '../cluster.js'

export interface LocalNode {
  name: string
  role: string
  /** The host it runs on (`local`, or a name from spec.hosts); absent: local. */
  host?: string
  pid: number | null
  state: ProcessState
  started_at: number | null
  listen: {proxy?: string; admin?: string; cluster?: string; status?: string}
  statusUrl?: string
  adminUrl?: string
  logFile: string
  /** Data planes: the id the node registers with (null until its first start). */
  dpId: string | null
  /** What the node's supervisor recorded (`<prefix>/supervisor.json`) for this pid; null if nothing. */
  supervision: SupervisionRecord | null
}

export interface LocalCluster {
  name: string
  mode: Mode
  specPath: string
  connection: PgConnection
  embedded: {state: ProcessState} | null
  nodes: LocalNode[]
  /** The hosts of the spec other than this machine (where `nodes[].host` points). */
  hosts?: Record<string, ResolvedHost>
  /** Seconds (`cluster_ping_interval` of the first CP's conf; Kong's default 30). */
  pingInterval: number
  /** The certificate files the nodes use (cluster certificates, proxy `ssl_cert`). */
  certificates: CertificateEntry[]
}

const DEFAULT_PING_INTERVAL = 30

/** @throws UserError as loadCluster does. */
export async function readLocalCluster(ref: ClusterRef): Promise<LocalCluster> {
  const {state, spec, specPath, stateDir} = await loadCluster(ref)
  // A pid found dead is "failed" only if kctl still means it to run. The intent read above
  // may predate a `kctl stop` that wrote `stopped` and signalled since; `kctl stop` writes
  // the intent before it signals, so liveness first, then the intent read again, never
  // takes an orderly stop for a failure.
  const named: Array<[string, Launched & {intent: Intent}]> = [...(state.embedded ? [[DATABASE_NODE, state.embedded] as [string, Launched & {intent: Intent}]] : []), ...Object.values(state.nodes).map((n) => [n.name, n] as [string, Launched & {intent: Intent}])]
  const processes = named.map(([, p]) => p)
  const running = await Promise.all(named.map(([name]) => processRunning(state, name)))
  const alive = new Map<unknown, boolean>(processes.map((p, i) => [p, running[i]]))
  if (processes.some((p) => !alive.get(p) && p.intent === 'running')) {
    const fresh = await readState(stateDir).catch(() => undefined)
    if (fresh?.embedded && state.embedded) state.embedded.intent = fresh.embedded.intent
    for (const n of Object.values(state.nodes)) n.intent = fresh?.nodes[n.name]?.intent ?? n.intent
  }
  const shownState = (p: {intent: Intent}): ProcessState => (p.intent === 'stopped' ? 'stopped' : alive.get(p) ? 'running' : 'failed')
  const nodes: LocalNode[] = []
  for (const n of Object.values(state.nodes)) {
    const host = hostFor(state, n.name)
    const supervision = await supervisionOf(host, n.prefix, n.pid)
    // a start kctl undid (its intent is stopped again) whose supervisor gave up: failed
    const s = supervision?.state === 'failed' && (await host.processIdentity(supervision.pid)) === undefined ? 'failed' : shownState(n)
    const listen = Object.fromEntries(Object.entries(n.listen).filter(([, v]) => v !== undefined && v !== 'off')) as LocalNode['listen']
    nodes.push({
      name: n.name,
      role: n.role,
      host: host.name,
      pid: alive.get(n) ? n.pid! : null,
      state: s,
      started_at: alive.get(n) ? await processStartTime(host, n.pid!) : null,
      listen,
      statusUrl: await reachUrl(host, listenUrl(listen.status)),
      adminUrl: await reachUrl(host, listenUrl(listen.admin)),
      logFile: n.logFile,
      dpId: n.role === 'data_plane' ? await readText(host, join(n.prefix, 'kong.id')) : null,
      supervision,
    })
  }
  const cp = Object.values(state.nodes).find((n) => n.role === 'control_plane')
  const ping = cp ? await confValue(hostFor(state, cp.name), cp.confPath, alive.get(cp) ? cp.pid : undefined, 'cluster_ping_interval') : undefined
  return {
    name: state.name,
    mode: state.mode,
    specPath,
    connection: state.connection,
    embedded: state.embedded ? {state: shownState(state.embedded)} : null,
    nodes,
    ...(state.hosts ? {hosts: state.hosts} : {}),
    pingInterval: ping !== undefined && Number(ping) > 0 ? Number(ping) : DEFAULT_PING_INTERVAL,
    certificates: await certificateInventory(state, spec),
  }
}

/**
 * A node's effective conf value as the runtime sees it: `KONG_<KEY>` in the running
 * process's environment (Linux /proc on its host) overrides the conf file.
 */
export async function confValue(host: Host, confPath: string, pid: number | undefined, key: string): Promise<string | undefined> {
  const env = pid ? ((await host.readFile(`/proc/${pid}/environ`).catch(() => undefined))?.toString('utf8') ?? '') : ''
  const name = `KONG_${key.toUpperCase()}=`
  const fromEnv = env.split('\0').find((e) => e.startsWith(name))
  if (fromEnv) return fromEnv.slice(name.length)
  return parseConfText((await readText(host, confPath)) ?? '')[key]
}

/**
 * The supervisor's record when it is about the node's last launch (not an older run's): the
 * pid in state.json, else the one `<prefix>/node.pid` keeps after a start kctl undid.
 */
async function supervisionOf(host: Host, prefix: string, pid: number | undefined): Promise<SupervisionRecord | null> {
  const text = await readText(host, recordPath(prefix))
  const r = text === null ? null : parseRecord(text)
  const launched = pid ?? Number(await readText(host, join(prefix, 'node.pid')))
  return r && r.pid === launched ? r : null
}

async function readText(host: Host, file: string): Promise<string | null> {
  try {
    return (await host.readFile(file))?.toString('utf8').trim() || null
  } catch {
    return null
  }
}

/** Each host's boot time (epoch seconds; null where there is no /proc). */
const bootTimes = new WeakMap<Host, number | null>()

/** Epoch seconds the process started, from /proc on its host (null where there is none). */
export async function processStartTime(host: Host, pid: number): Promise<number | null> {
  try {
    if (!bootTimes.has(host)) {
      const m = /^btime (\d+)$/m.exec((await host.readFile('/proc/stat'))?.toString('utf8') ?? '')
      bootTimes.set(host, m ? Number(m[1]) : null)
    }
    const bootTime = bootTimes.get(host)
    if (bootTime === null || bootTime === undefined) return null
    const stat = (await host.readFile(`/proc/${pid}/stat`))?.toString('utf8')
    if (stat === undefined) return null
    // Field 22 (starttime, clock ticks after boot) counted after the ")" closing the command name.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Math.floor(bootTime + Number(fields[19]) / 100)
  } catch {
    return null
  }
}

/** The host a node of the cluster read runs on. */
export const nodeHost = (local: LocalCluster, node: LocalNode): Host => hostNamed(node.host ?? LOCAL_HOST_NAME, local.hosts?.[node.host ?? '']) ?? localHost

/** The last `lines` lines of a node's log on its host (empty when there is none yet). */
export async function readLogTail(host: Host, file: string, lines = 10): Promise<string[]> {
  const got: string[] = []
  try {
    const t = await host.tail(file, {lines, follow: false})
    for await (const line of t) if (line) got.push(line)
    await t.close()
  } catch {
    return []
  }
  return got.slice(-lines)
}
