/**
 * The embedded Postgres: a real PostgreSQL server run from the npm-provided binaries as its
 * own detached process, with its own data directory, port, pid and log.
 *
 *   preparePostgres → initCluster (initdb, once) → startServer (detached, waits for connections)
 *                                                → stopServer (fast shutdown, escalates)
 *
 * When kctl runs as root, initdb and postgres run as the `kctl-postgres` system user (see
 * postgres-user.ts); the returned PostgresInstance records everything needed to start, stop
 * and remove the server later, so it can be stored in the cluster state.
 */
import {chown, mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import pg from 'pg'
import {ExternalError, tail} from '../kit/errors.js'
import {run} from '../kit/exec.js'
import type {ProcessIdentity} from '../kit/process.js'
import type {Host} from './hosts/host.js'
import {localHost} from './hosts/local.js'
import {binPath, resolveBinaries, type PostgresBinaries} from './postgres-binaries.js'
import {binariesFor, ensureRunAsUser, placeDataDir, type RunAs} from './postgres-user.js'

/** Everything needed to run one embedded server; JSON-serialisable. */
export interface PostgresInstance {
  binaries: PostgresBinaries
  dataDir: string
  port: number
  /** Superuser created by initdb. */
  user: string
  password: string
  /** Set when running as root: the unprivileged user owning the data dir. */
  runAs?: RunAs
  /** A directory outside the state dir holding the data (root only); destroy removes it. */
  external?: string
}

/** Connection parameters, the same shape the runtime's `migrate()` takes. */
export interface PgConnection {
  host: string
  port: number
  user: string
  password?: string
  database: string
  ssl?: boolean
}

export interface PrepareOptions {
  /** The cluster's state dir; the data dir goes in `<stateDir>/postgres/data` when reachable. */
  stateDir: string
  port: number
  user: string
  password: string
  /** Override the data dir location (default `<stateDir>/postgres/data`). */
  dataDir?: string
}

/** Resolves binaries, the run-as user and the data dir for a new server. Creates nothing on disk but what root needs. */
export async function preparePostgres(options: PrepareOptions): Promise<PostgresInstance> {
  const runAs = await ensureRunAsUser()
  const binaries = await binariesFor(await resolveBinaries(), runAs)
  const preferred = options.dataDir ?? join(options.stateDir, 'postgres', 'data')
  const placed = await placeDataDir(options.stateDir, preferred, runAs)
  return {binaries, dataDir: placed.dataDir, port: options.port, user: options.user, password: options.password, runAs, external: placed.external}
}

export interface InitOptions {
  /** Skip fsync in initdb (fast; fine for tests and throwaway clusters). */
  noSync?: boolean
  auth?: 'scram-sha-256' | 'md5'
}

/**
 * Runs initdb (UTF8, C locale, password auth for local and host connections).
 * Idempotent: a data dir that already has PG_VERSION is left alone.
 * @throws ExternalError with initdb's output when it fails.
 */
export async function initCluster(pgi: PostgresInstance, options: InitOptions = {}): Promise<void> {
  try {
    await readFile(join(pgi.dataDir, 'PG_VERSION'))
    return
  } catch {
    // Not initialised yet.
  }
  // Parents traversable (not listable) by the run-as user; the data dir is its own, 0700.
  await mkdir(dirname(pgi.dataDir), {recursive: true, mode: 0o711})
  await mkdir(pgi.dataDir, {recursive: true, mode: 0o700})
  // The password file must be readable by the run-as user, and never by anyone else.
  const pwDir = await mkdtemp(join(tmpdir(), 'kctl-pw-'))
  const pwFile = join(pwDir, 'pw')
  await writeFile(pwFile, `${pgi.password}\n`, {mode: 0o600})
  try {
    if (pgi.runAs) {
      for (const p of [pgi.dataDir, pwDir, pwFile]) await chown(p, pgi.runAs.uid, pgi.runAs.gid)
    }
    const args = ['-D', pgi.dataDir, '-U', pgi.user, `--pwfile=${pwFile}`, `--auth=${options.auth ?? 'scram-sha-256'}`, '-E', 'UTF8', '--locale=C']
    if (options.noSync) args.push('--no-sync')
    await run(binPath(pgi.binaries, 'initdb'), args, {
      uid: pgi.runAs?.uid,
      gid: pgi.runAs?.gid,
      cwd: '/',
      code: 'POSTGRES_START_FAILED',
      what: 'initdb failed',
    })
  } finally {
    await rm(pwDir, {recursive: true, force: true})
  }
}

/**
 * initdb on another host (kctl acting as root there; the server's files belong to
 * `pgi.runAs`), then a pg_hba.conf that lets in only `clients` (addresses or host names) and
 * the host itself, with scram passwords. Idempotent as initCluster.
 */
export async function initClusterOn(host: Host, pgi: PostgresInstance, clients: string[]): Promise<void> {
  if (await host.exists(join(pgi.dataDir, 'PG_VERSION'))) return
  const runAs = pgi.runAs
  if (!runAs) throw new Error('bug: a database on another host runs as its service user')
  const base = dirname(pgi.dataDir)
  const pwFile = join(base, '.initdb-password')
  await host.mkdir(pgi.dataDir, {mode: 0o700})
  await host.writeFile(pwFile, `${pgi.password}\n`, {mode: 0o600})
  try {
    await host.run('chown', ['-R', `${runAs.uid}:${runAs.gid}`, base])
    const args = ['-D', pgi.dataDir, '-U', pgi.user, `--pwfile=${pwFile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C']
    const r = await host.run('setpriv', [`--reuid=${runAs.uid}`, `--regid=${runAs.gid}`, '--clear-groups', '--', binPath(pgi.binaries, 'initdb'), ...args], {cwd: '/', reject: false})
    if (r.exitCode !== 0) throw new ExternalError('POSTGRES_START_FAILED', `initdb failed on host ${host.name} (exit code ${r.exitCode}).\n${tail(r.stderr || r.stdout, 15)}`, tail(r.stderr, 15))
  } finally {
    await host.remove(pwFile)
  }
  await host.writeFile(join(pgi.dataDir, 'pg_hba.conf'), hbaFor(clients), {mode: 0o600})
  await host.run('chown', [`${runAs.uid}:${runAs.gid}`, join(pgi.dataDir, 'pg_hba.conf')])
}

/** pg_hba.conf admitting only these clients, by password (scram). */
export function hbaFor(clients: string[]): string {
  const rows = [...new Set(clients)].map((c) => {
    const address = /^\d+\.\d+\.\d+\.\d+$/.test(c) ? `${c}/32` : c.includes(':') ? `${c}/128` : c
    return `host    all    all    ${address.padEnd(24)} scram-sha-256`
  })
  return `# Written by kctl: the cluster's hosts only, scram passwords.\n# TYPE  DATABASE  USER  ADDRESS                  METHOD\n${rows.join('\n')}\n`
}

export interface StartOptions {
  /** Postgres output is appended here (opened by us, so the run-as user needs no access). */
  logFile: string
  /** Extra `-c key=value` settings, e.g. {fsync: 'off'} for tests. */
  settings?: Record<string, string>
  /** How long to wait for connections (default 30 s). */
  timeoutMs?: number
  /** What to try next when the server does not start (default: read the log, pick another port if taken). */
  hint?: string
  /** Where the server runs (default this machine). */
  host?: Host
}

/** The server process: `started` false when it was already running on this data dir. */
export interface ServerProcess {
  process: ProcessIdentity
  started: boolean
}

/**
 * Starts the server detached (own process group, survives the CLI) listening on
 * 127.0.0.1:<port> only, with the unix socket disabled, and waits until it accepts a
 * connection. If it is already running on this data dir (postmasterOf) returns that process.
 * On failure the server is stopped and the error carries the tail of its log.
 */
export async function startServer(pgi: PostgresInstance, options: StartOptions): Promise<ServerProcess> {
  const host = options.host ?? localHost
  const existing = await postmasterOf(pgi.dataDir, host)
  if (existing) return {process: existing, started: false}
  const settings = {listen_addresses: '127.0.0.1', unix_socket_directories: '', ...options.settings}
  const args = ['-D', pgi.dataDir, '-p', String(pgi.port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])]
  const proc = await host.spawnDetached(binPath(pgi.binaries, 'postgres'), args, {logFile: options.logFile, cwd: '/', runAs: pgi.runAs})
  try {
    await waitForConnections(pgi, proc, host, options.timeoutMs ?? 30_000)
  } catch (err) {
    await stopServer({process: proc, host})
    const log = (await host.readFile(options.logFile).catch(() => undefined))?.toString('utf8') ?? ''
    const reason = err instanceof Error ? err.message : String(err)
    throw new ExternalError('POSTGRES_START_FAILED', `Postgres did not start on 127.0.0.1:${pgi.port}: ${reason}\n--- ${options.logFile} (tail) ---\n${tail(log, 15)}`, tail(log, 15), {
      hint: options.hint ?? 'Check the log above; if the port is taken, pick another one.',
    })
  }
  return {process: proc, started: true}
}

async function waitForConnections(pgi: PostgresInstance, proc: ProcessIdentity, host: Host, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = 'no answer yet'
  const to = await host.reach('127.0.0.1', pgi.port)
  for (;;) {
    if (!(await host.isSameProcess(proc))) throw new Error('the server process exited')
    const client = new pg.Client({host: to.host, port: to.port, user: pgi.user, password: pgi.password, database: 'postgres', connectionTimeoutMillis: 2000})
    try {
      await client.connect()
      await client.end()
      return
    } catch (err) {
      await client.end().catch(() => {})
      last = err instanceof Error ? err.message : String(err)
      // Wrong password or missing role will not fix itself by waiting.
      if ((err as {code?: string}).code === '28P01' || (err as {code?: string}).code === '28000') throw err
    }
    if (Date.now() > deadline) throw new Error(`no connection within ${Math.round(timeoutMs / 1000)} s (${last})`)
    await sleep(100)
  }
}

/** The postmaster's pid from `<dataDir>/postmaster.pid`, if the file exists. */
export async function readPostmasterPid(dataDir: string, host: Host = localHost): Promise<number | undefined> {
  try {
    const pid = Number((await host.readFile(join(dataDir, 'postmaster.pid')))?.toString('utf8').split('\n')[0])
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

/**
 * The server running on this data dir: the pid in `<dataDir>/postmaster.pid`, taken only
 * while that process's command line names the data dir (`-D <dataDir>`), so a stale file
 * whose pid went to another process never points at it.
 */
export async function postmasterOf(dataDir: string, host: Host = localHost): Promise<ProcessIdentity | undefined> {
  const pid = await readPostmasterPid(dataDir, host)
  const id = pid ? await host.processIdentity(pid) : undefined
  return id && `${id.command} `.includes(`-D ${dataDir} `) ? id : undefined
}

/**
 * Stops the server: SIGINT (fast shutdown: disconnects clients, checkpoints), then SIGQUIT
 * (immediate), then SIGKILL. Give the recorded `process`, and/or `dataDir` to find the
 * server running there (postmasterOf). Only a process that is still the recorded one, or
 * the server of that data dir, is signalled. Resolves once it is gone; a server that was
 * not running is fine.
 */
export async function stopServer(target: {process?: ProcessIdentity; dataDir?: string; host?: Host}): Promise<void> {
  const host = target.host ?? localHost
  const proc = (await host.isSameProcess(target.process)) ? target.process : target.dataDir ? await postmasterOf(target.dataDir, host) : undefined
  if (!proc) return
  for (const [sig, wait] of [['SIGINT', 20_000], ['SIGQUIT', 5_000], ['SIGKILL', 5_000]] as const) {
    if (!(await host.signal(proc, sig))) return
    if (await waitForExit(host, proc, wait)) return
  }
}

/** Waits until the recorded process is gone from `host`; true if it went within `timeoutMs`. */
async function waitForExit(host: Host, proc: ProcessIdentity, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (await host.isSameProcess(proc)) {
    if (Date.now() > deadline) return false
    await sleep(50)
  }
  return true
}

/** Creates `database` unless it exists (connects to the `postgres` maintenance database). */
export async function createDatabase(conn: Omit<PgConnection, 'database'>, database: string): Promise<boolean> {
  const client = new pg.Client({...conn, database: 'postgres'})
  await client.connect()
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])
    if (found.rowCount) return false
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)} ENCODING 'UTF8'`)
    return true
  } finally {
    await client.end()
  }
}

/** Removes the data dir (and the external folder holding it, when root placed it outside the state dir). */
export async function removeData(pgi: Pick<PostgresInstance, 'dataDir' | 'external'>): Promise<void> {
  await rm(pgi.external ?? pgi.dataDir, {recursive: true, force: true})
}

/** postgres://user:password@127.0.0.1:port/database */
export function connectionUrl(conn: PgConnection): string {
  const auth = `${encodeURIComponent(conn.user)}${conn.password ? `:${encodeURIComponent(conn.password)}` : ''}`
  return `postgres://${auth}@${conn.host}:${conn.port}/${encodeURIComponent(conn.database)}`
}
