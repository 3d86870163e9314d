/**
 * What kctl knows about a cluster without asking any node: the spec and state, each
 * process's state and start time, each local DP's node id (`<prefix>/kong.id`, to match
 * the CP's `/clustering/data-planes` rows), the ping interval from the nodes' conf.
 */
import {open, readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {listenUrl} from '../../cluster/listen.js'
import type {Mode} from '../../cluster/spec.js'
import type {PgConnection} from '../../cluster/postgres.js'
import {isAlive} from '../../kit/process.js'
import {parseConfText} from '../../runtime/conf/load.js'
import {readRecord, type SupervisionRecord} from '../../runtime/supervisor/record.js'
import {isRunning, readState, type Intent, type Launched} from '../../cluster/state.js'
import {loadCluster, type ClusterRef, type ProcessState} from '../cluster.js'

export interface LocalNode {
  name: string
  role: string
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
  /** Seconds (`cluster_ping_interval` of the first CP's conf; Kong's default 30). */
  pingInterval: number
}

const DEFAULT_PING_INTERVAL = 30

/** @throws UserError as loadCluster does. */
export async function readLocalCluster(ref: ClusterRef): Promise<LocalCluster> {
  const {state, specPath, stateDir} = await loadCluster(ref)
  // A pid found dead is "failed" only if kctl still means it to run. The intent read above
  // may predate a `kctl stop` that wrote `stopped` and signalled since; `kctl stop` writes
  // the intent before it signals, so liveness first, then the intent read again, never
  // takes an orderly stop for a failure.
  const processes: Array<Launched & {intent: Intent}> = [...(state.embedded ? [state.embedded] : []), ...Object.values(state.nodes)]
  const alive = new Map<unknown, boolean>(processes.map((p) => [p, isRunning(p)]))
  if (processes.some((p) => !alive.get(p) && p.intent === 'running')) {
    const fresh = await readState(stateDir).catch(() => undefined)
    if (fresh?.embedded && state.embedded) state.embedded.intent = fresh.embedded.intent
    for (const n of Object.values(state.nodes)) n.intent = fresh?.nodes[n.name]?.intent ?? n.intent
  }
  const shownState = (p: {intent: Intent}): ProcessState => (p.intent === 'stopped' ? 'stopped' : alive.get(p) ? 'running' : 'failed')
  const nodes: LocalNode[] = []
  for (const n of Object.values(state.nodes)) {
    const supervision = await supervisionOf(n.prefix, n.pid)
    // a start kctl undid (its intent is stopped again) whose supervisor gave up: failed
    const s = supervision?.state === 'failed' && !isAlive(supervision.pid) ? 'failed' : shownState(n)
    const listen = Object.fromEntries(Object.entries(n.listen).filter(([, v]) => v !== undefined && v !== 'off')) as LocalNode['listen']
    nodes.push({
      name: n.name,
      role: n.role,
      pid: alive.get(n) ? n.pid! : null,
      state: s,
      started_at: alive.get(n) ? await processStartTime(n.pid!) : null,
      listen,
      statusUrl: listenUrl(listen.status),
      adminUrl: listenUrl(listen.admin),
      logFile: n.logFile,
      dpId: n.role === 'data_plane' ? await readText(join(n.prefix, 'kong.id')) : null,
      supervision,
    })
  }
  const cp = Object.values(state.nodes).find((n) => n.role === 'control_plane')
  const ping = cp ? await confValue(cp.confPath, isRunning(cp) ? cp.pid : undefined, 'cluster_ping_interval') : undefined
  return {
    name: state.name,
    mode: state.mode,
    specPath,
    connection: state.connection,
    embedded: state.embedded ? {state: shownState(state.embedded)} : null,
    nodes,
    pingInterval: ping !== undefined && Number(ping) > 0 ? Number(ping) : DEFAULT_PING_INTERVAL,
  }
}

/**
 * A node's effective conf value as the runtime sees it: `KONG_<KEY>` in the running
 * process's environment (Linux /proc) overrides the conf file.
 */
export async function confValue(confPath: string, pid: number | undefined, key: string): Promise<string | undefined> {
  const env = pid ? await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '') : ''
  const name = `KONG_${key.toUpperCase()}=`
  const fromEnv = env.split('\0').find((e) => e.startsWith(name))
  if (fromEnv) return fromEnv.slice(name.length)
  return parseConfText((await readText(confPath)) ?? '')[key]
}

/**
 * The supervisor's record when it is about the node's last launch (not an older run's): the
 * pid in state.json, else the one `<prefix>/node.pid` keeps after a start kctl undid.
 */
async function supervisionOf(prefix: string, pid: number | undefined): Promise<SupervisionRecord | null> {
  const r = readRecord(prefix)
  const launched = pid ?? Number(await readText(join(prefix, 'node.pid')))
  return r && r.pid === launched ? r : null
}

async function readText(file: string): Promise<string | null> {
  try {
    return (await readFile(file, 'utf8')).trim() || null
  } catch {
    return null
  }
}

let bootTime: number | null | undefined

/** Epoch seconds the process started, from /proc (null where there is none). */
export async function processStartTime(pid: number): Promise<number | null> {
  try {
    if (bootTime === undefined) {
      const m = /^btime (\d+)$/m.exec(await readFile('/proc/stat', 'utf8'))
      bootTime = m ? Number(m[1]) : null
    }
    if (bootTime === null) return null
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    // Field 22 (starttime, clock ticks after boot) counted after the ")" closing the command name.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Math.floor(bootTime + Number(fields[19]) / 100)
  } catch {
    return null
  }
}

/** The last `lines` lines of a node's log (empty when there is none yet). */
export async function readLogTail(file: string, lines = 10): Promise<string[]> {
  let text = ''
  try {
    const fh = await open(file, 'r')
    try {
      const {size} = await fh.stat()
      const start = Math.max(0, size - 64 * 1024)
      const buf = Buffer.alloc(size - start)
      await fh.read(buf, 0, buf.length, start)
      text = buf.toString('utf8')
    } finally {
      await fh.close()
    }
  } catch {
    return []
  }
  return text.replace(/\s+$/, '').split('\n').filter(Boolean).slice(-lines)
}
