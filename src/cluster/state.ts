/**
 * Cluster state: what kctl started and where (pids, ports, paths), in
 * `<state root>/clusters/<name>/state.json` (mode 0600; it holds the database password).
 * The spec says what should exist; the state records what does.
 */
import {mkdir, readFile, rename, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import type {ProcessIdentity, ProcessStamp} from '../kit/process.js'
import {pidFilePath} from '../runtime/supervisor/record.js'
import type {Host} from './hosts/host.js'
import type {HostInstall} from './remote-install.js'
import type {ResolvedHost} from './spec-hosts.js'
import {DATABASE_NODE, type Mode, type MtlsMode, type Role} from './spec.js'
import type {PgConnection, PostgresInstance} from './postgres.js'

/** Last intent for a process: `running` with a dead pid means it failed. */
export type Intent = 'running' | 'stopped'

/**
 * A process kctl launched: its pid and, recorded at launch, what tells it from a later
 * process with the same pid. A pid without `process` (state from older versions, not
 * adopted) never counts as running.
 */
export interface Launched {
  pid?: number
  process?: ProcessStamp
}

export interface NodeState extends Launched {
  name: string
  role: Role
  /** The host it runs on: a name from `spec.hosts`, or `local` (absent in older state: local). */
  host?: string
  /** Kong's prefix: conf, logs/, pid file. */
  prefix: string
  confPath: string
  logFile: string
  intent: Intent
  /** Listen values the node was started with. */
  listen: {proxy?: string; admin?: string; status?: string; cluster?: string}
  /**
   * The kctl release whose installed runtime the node runs (runtime-install.ts), and the one
   * it ran before its last `kctl upgrade` (what `--rollback` returns to). Absent in state
   * from older versions: the cluster's, else this kctl's, from its next start or upgrade.
   */
  runtime?: {version: string; previous?: string}
}

export interface EmbeddedDatabaseState extends Launched {
  /** The host it runs on (as NodeState.host). */
  host?: string
  instance: PostgresInstance
  logFile: string
  intent: Intent
}

/** Hybrid mode's certificates: where every node finds its files. */
export interface CertificatesState {
  mtls: MtlsMode
  days: number
  /**
   * shared: the pair every node presents. pki: the CA's pair, next to `<node>.crt`/`<node>.key`.
   * Generated files live under the state dir (destroy removes them); given ones are the user's.
   */
  cert: string
  key: string
  /** False when the spec names the files: kctl then never writes or deletes them. */
  generated: boolean
}

/**
 * A certificate rotation under way (`kctl certs rotate`), kept until it ends so every conf
 * written meanwhile (a reload, a start, the next run of the command) fits the rollout:
 *
 *   control planes: present old, trust both ─► data planes: present new, trust both
 *     ─► new files replace the old ones (promoted) ─► control planes: trust only the new
 *     ─► data planes: trust only the new ─► record removed
 */
export interface CertRotation {
  /** The new certificates, named as the current ones, until they replace them. */
  next: string
  /** What every node trusts meanwhile: shared, both cluster certificates (pinned); pki, both CAs. */
  bundle: string
  /** Before the promotion: the nodes that present the new certificate (from `next`). */
  presenting: string[]
  /** The new certificates are in place of the old ones. */
  promoted: boolean
  /** After the promotion: the nodes that trust only the new certificates. */
  settled: string[]
}

export interface ClusterState {
  version: 1
  name: string
  mode: Mode
  /** Absolute path of the kctl.yaml this cluster was created from. */
  specPath: string
  createdAt: string
  /** How nodes reach the database. */
  connection: PgConnection
  /** Present when kctl runs the database. */
  embedded?: EmbeddedDatabaseState
  /** Hybrid mode only. */
  certificates?: CertificatesState
  /** Hybrid mode, while `kctl certs rotate` rolls new certificates out. */
  certRotation?: CertRotation
  nodes: Record<string, NodeState>
  /** The hosts of the spec other than this machine, as last synced from the spec. */
  hosts?: Record<string, ResolvedHost>
  /** What kctl installed on each of those hosts (bundle, service user), for launch and destroy. */
  installs?: Record<string, HostInstall>
  /**
   * The migrations `kctl upgrade` ran, in order, each with the versions the nodes ran then
   * (which do not know it): what `--rollback` to one of those versions must check.
   */
  upgradeMigrations?: {name: string; compatible: boolean; from: string[]}[]
}

/** The recorded process, when there is one. */
export const launchedProcess = (p: Launched): ProcessIdentity | undefined => (p.pid && p.process ? {pid: p.pid, ...p.process} : undefined)

/** Whether the recorded process still runs on `host`, its host (the one check for a pid from state). */
export const isRunning = (p: Launched, host: Host): Promise<boolean> => host.isSameProcess(launchedProcess(p))

/** Records a launched process (pid and identity), or clears the record. */
export function recordProcess(p: Launched, id: ProcessIdentity | undefined): void {
  p.pid = id?.pid
  p.process = id ? {start: id.start, command: id.command} : undefined
}

/**
 * State written before identities were recorded has bare pids. Such a pid is taken as ours
 * only while its process's command line names this node's conf (`--conf <confPath>`) or this
 * database's data dir (`-D <dataDir>`); its identity is then recorded. Any other pid is dropped.
 */
export async function adoptBarePids(state: ClusterState, hostOf: (name: string) => Host): Promise<void> {
  const adopt = async (p: Launched, name: string, mark: string) => {
    if (!p.pid || p.process) return
    const id = await hostOf(name).processIdentity(p.pid)
    recordProcess(p, id?.command.includes(mark) ? id : undefined)
  }
  for (const n of Object.values(state.nodes)) await adopt(n, n.name, `--conf ${n.confPath}`)
  if (state.embedded) await adopt(state.embedded, DATABASE_NODE, `-D ${state.embedded.instance.dataDir}`)
}

/**
 * A node whose recorded process is gone may have been started again without kctl: systemd
 * restarts a unit (`Restart=on-failure`) whose supervisor gave up or was killed (an OOM kill),
 * and the new supervisor runs with another pid. Every supervisor names itself in
 * `<prefix>/supervisor.pid` while it owns the node; that process is recorded as the node's
 * when its command line names this node's conf (as adoptBarePids takes a pid). Only nodes
 * that run as units are looked at, and only when their recorded process is gone.
 * @returns the names of the nodes whose process was followed
 */
export async function followRestartedNodes(state: ClusterState, hostOf: (name: string) => Host): Promise<string[]> {
  const followed: string[] = []
  await Promise.all(
    Object.values(state.nodes).map(async (n) => {
      if (!n.host || !state.installs?.[n.host]?.systemd || n.intent !== 'running' || !n.process) return
      const host = hostOf(n.name)
      if (await host.isSameProcess(launchedProcess(n))) return
      const pid = Number((await host.readFile(pidFilePath(n.prefix)).catch(() => undefined))?.toString('utf8').trim())
      if (!Number.isInteger(pid) || pid <= 0 || pid === n.pid) return
      const id = await host.processIdentity(pid)
      if (!id?.command.includes(`--conf ${n.confPath}`)) return
      recordProcess(n, id)
      followed.push(n.name)
    }),
  )
  return followed
}

export const stateFile = (dir: string): string => join(dir, 'state.json')

export async function readState(dir: string): Promise<ClusterState | undefined> {
  try {
    return JSON.parse(await readFile(stateFile(dir), 'utf8')) as ClusterState
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/**
 * Writes atomically (temp file + rename) so a crash never leaves half a state file.
 * The folder is 0711: others may traverse it (the embedded Postgres may run as another
 * user with its data below) but not list it; the file itself is 0600.
 */
export function writeState(dir: string, state: ClusterState): Promise<void> {
  // one write at a time per folder (nodes launched side by side each record themselves); a
  // write made while another is under way runs after it, with the state as it is by then
  const previous = writing.get(dir) ?? Promise.resolve()
  const next = previous.catch(() => undefined).then(async () => {
    await mkdir(dir, {recursive: true, mode: 0o711})
    const tmp = `${stateFile(dir)}.tmp`
    await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, {mode: 0o600})
    await rename(tmp, stateFile(dir))
  })
  writing.set(dir, next)
  void next.finally(() => {
    if (writing.get(dir) === next) writing.delete(dir)
  }).catch(() => undefined)
  return next
}
const writing = new Map<string, Promise<void>>()

export async function removeStateDir(dir: string): Promise<void> {
  await rm(dir, {recursive: true, force: true})
}
