/**
 * `kctl upgrade`: moves every node of the cluster to this kctl's runtime without refusing a
 * connection; `--rollback` moves each node back to the version it ran before.
 *
 *   which nodes run another version ─┐
 *   pending migrations of this kctl ─┴─ none of either ─► "nothing to upgrade"
 *     a migration that is not backward compatible while nodes of the old version run
 *       ─► UPGRADE_REFUSED naming them; nothing changed
 *   install the runtime next to the old one: here <cluster>/runtime/<version>/
 *     (runtime-install.ts), on another host <install>/<version>/ (upgrade-hosts.ts)
 *   run the pending migrations (old nodes keep working: only compatible ones get here)
 *   control planes, then the other nodes, one at a time:
 *     <prefix>/runtime.entry ─► the new version's main.js
 *     running: its supervisor hands its sockets to a new supervisor started from that
 *       entry (the rolling restart's handover, services/reload.ts), ready and, a data plane,
 *       in sync before the next; its `/status` must then say the new `kctl_version`
 *     stopped: recorded; `kctl start` starts it on the new version
 *     (another host's systemd unit is pointed at it too)
 *   each other host's `current` and install record follow its nodes
 *   runtimes no node runs or can roll back to are removed
 *
 * Migrations are never undone. `--rollback` to a version that does not know a migration an
 * upgrade ran (recorded in the state) is refused when that migration is not backward
 * compatible, naming it; compatible ones stay, the older code works with them.
 *
 * A node that fails keeps serving on its version (its entry file is put back) and the
 * command stops there with NODE_RELOAD_FAILED; running it again continues.
 */
import {readdir, rm} from 'node:fs/promises'
import {join} from 'node:path'
import {ExternalError, UserError} from '../kit/errors.js'
import type {Reporter} from '../kit/output.js'
import {hostFor, processRunning, reachUrl} from '../cluster/hosts/index.js'
import {listenUrl} from '../cluster/listen.js'
import {installedEntry, packageRuntime, type RuntimeSource} from '../cluster/runtime-install.js'
import {writeState, type NodeState} from '../cluster/state.js'
import {migrate, MIGRATIONS, pending, type Migration} from '../runtime/db/migrations.js'
import {entryPath} from '../runtime/supervisor/entry.js'
import {parseRecord, recordPath} from '../runtime/supervisor/record.js'
import {loadCluster, type ClusterRef, type LoadedCluster} from './cluster.js'
import {cannotReplace, replace, rollingOrder} from './reload.js'
import {installEverywhere, pointUnitAt, reachableDatabase, settleHosts, versionDir} from './upgrade-hosts.js'

export interface UpgradeOptions extends ClusterRef {
  /** Back to the version each node ran before its last upgrade. */
  rollback?: boolean
  report: Reporter
  /** The kctl package whose runtime the nodes move to (default: this kctl's). */
  source?: RuntimeSource
  /** That release's migrations (default: this kctl's). */
  migrations?: readonly Migration[]
}

export interface UpgradeResult {
  cluster: string
  rollback: boolean
  /** The version the nodes moved to (null: nothing to do). */
  to: string | null
  /** Migrations run, in order. */
  migrations: string[]
  /** Running nodes moved to `to`, in the order they were. */
  upgraded: string[]
  /** Stopped nodes recorded on `to`: `kctl start` starts them on it. */
  not_running: string[]
  /** Nodes on `to` already. */
  unchanged: string[]
}

interface Move {
  node: NodeState
  from: string | undefined
  to: string
}

export async function upgrade(options: UpgradeOptions): Promise<UpgradeResult> {
  const c = await loadCluster(options)
  const nodes = rollingOrder(c)
  const source = options.source ?? packageRuntime()
  const moves = options.rollback ? rollbackMoves(nodes) : nodes.filter((n) => n.runtime?.version !== source.version).map((n) => ({node: n, from: n.runtime?.version, to: source.version}))
  const to = moves[0]?.to ?? (options.rollback ? null : source.version)
  const result: UpgradeResult = {cluster: c.state.name, rollback: !!options.rollback, to, migrations: [], upgraded: [], not_running: [], unchanged: nodes.filter((n) => !moves.some((m) => m.node === n)).map((n) => n.name)}
  const todo = options.rollback ? [] : await pendingMigrations(c, options.migrations ?? MIGRATIONS)
  if (moves.length === 0 && todo.length === 0) return result
  if (options.rollback) checkRollback(c, moves, options.report)

  const running = new Set<string>()
  for (const m of moves) if (await processRunning(c.state, m.node.name)) running.add(m.node.name)
  const breaking = todo.filter((m) => !m.compatible)
  if (breaking.length && running.size) throw refuseBreaking(breaking, moves.filter((m) => running.has(m.node.name)), source.version)
  for (const m of moves) {
    if (!running.has(m.node.name)) continue
    const why = await cannotUpgradeInPlace(c, m.node)
    if (why) throw why
  }

  if (!options.rollback && moves.length) {
    options.report.step(`Installing kctl ${source.version}'s runtime`)
    await installEverywhere(c, moves.map((m) => m.node), source, options.report)
  }
  if (todo.length) {
    options.report.step('Migrations')
    result.migrations = await migrate(await reachableDatabase(c), options.migrations ?? MIGRATIONS)
    const from = [...new Set(moves.flatMap((m) => (m.from ? [m.from] : [])))]
    c.state.upgradeMigrations = [...(c.state.upgradeMigrations ?? []), ...todo.filter((m) => result.migrations.includes(m.name)).map((m) => ({name: m.name, compatible: m.compatible, from}))]
    await writeState(c.stateDir, c.state)
    options.report.info(`ran ${result.migrations.join(', ')}`)
  }
  for (const m of moves) {
    if (await moveNode(c, m, running.has(m.node.name), options.report)) result.upgraded.push(m.node.name)
    else result.not_running.push(m.node.name)
    m.node.runtime = {version: m.to, ...(m.from ? {previous: m.from} : {})}
    await writeState(c.stateDir, c.state)
  }
  await settleHosts(c, moves)
  await pruneRuntimes(c)
  return result
}

/** Each node that has a previous version, back to it. @throws UserError UPGRADE_REFUSED when none has */
function rollbackMoves(nodes: NodeState[]): Move[] {
  const moves = nodes.filter((n) => n.runtime?.previous).map((n) => ({node: n, from: n.runtime!.version, to: n.runtime!.previous!}))
  if (moves.length === 0) {
    throw new UserError('UPGRADE_REFUSED', 'There is nothing to roll back to: no node has run another version of the runtime before (`kctl upgrade` records it). Nothing was changed.', {
      hint: '`kctl nodes` shows the version each node runs.',
    })
  }
  return moves
}

/**
 * Migrations are not undone: a rollback to a version that does not know a migration an
 * upgrade ran is refused when that one is not backward compatible (the old code could not
 * work on the schema); compatible ones stay and are named.
 * @throws UserError UPGRADE_REFUSED naming them
 */
function checkRollback(c: LoadedCluster, moves: Move[], report: Reporter): void {
  const targets = new Set(moves.map((m) => m.to))
  const unknown = (c.state.upgradeMigrations ?? []).filter((m) => m.from.some((v) => targets.has(v)))
  const breaking = unknown.filter((m) => !m.compatible)
  const to = [...targets].join(', ')
  if (breaking.length) {
    const names = breaking.map((m) => m.name).join(', ')
    const one = breaking.length === 1
    throw new UserError(
      'UPGRADE_REFUSED',
      `Can't roll back to kctl ${to}: ${one ? 'migration' : 'migrations'} ${names}, run by the upgrade from it, ${one ? 'is' : 'are'} not backward compatible and kctl ${to} does not know ${one ? 'it' : 'them'}; migrations are not undone, so its nodes could not work on the database. Nothing was changed.`,
      {hint: `The nodes keep running kctl ${[...new Set(moves.map((m) => m.from))].join(', ')}. Going back needs a kctl that knows ${one ? 'that migration' : 'those migrations'}.`},
    )
  }
  if (unknown.length) report.info(`migrations ${unknown.map((m) => m.name).join(', ')} stay (migrations are not undone); kctl ${to} works with them: they are backward compatible`)
}

/** This release's migrations not yet run. @throws ExternalError DATABASE_FAILED when the database does not answer */
async function pendingMigrations(c: LoadedCluster, list: readonly Migration[]): Promise<Migration[]> {
  try {
    return await pending(await reachableDatabase(c), list)
  } catch (err) {
    const {host, port, database} = c.state.connection
    throw new ExternalError('DATABASE_FAILED', `Can't read the migrations of the database at ${host}:${port}/${database}: ${(err as Error).message}. Nothing was changed.`, '', {
      hint: c.state.embedded ? 'Start it with `kctl start postgres`, then run the command again.' : 'Check that the database server is running, then run the command again.',
    })
  }
}

function refuseBreaking(breaking: Migration[], old: Move[], version: string): UserError {
  const names = breaking.map((m) => m.name).join(', ')
  const nodes = old.map((m) => m.node.name).join(', ')
  const froms = [...new Set(old.map((m) => m.from ?? 'an older kctl'))].join(', ')
  return new UserError(
    'UPGRADE_REFUSED',
    `Can't upgrade to kctl ${version} while nodes serve: ${breaking.length > 1 ? 'migrations' : 'migration'} ${names} ${breaking.length > 1 ? 'are' : 'is'} not backward compatible (nodes of ${froms} could not work on the schema ${breaking.length > 1 ? 'they leave' : 'it leaves'}), and ${nodes} still run ${froms}. Nothing was changed.`,
    {hint: 'Upgrade offline: `kctl stop` (connections are refused from then on), `kctl upgrade` (it migrates and moves the stopped nodes), then `kctl start`.'},
  )
}

/** Why this running node cannot move to another runtime without closing its sockets, or undefined. */
async function cannotUpgradeInPlace(c: LoadedCluster, node: NodeState): Promise<UserError | undefined> {
  const why = await cannotReplace(c, node, 'handover')
  if (why) return why
  const text = await hostFor(c.state, node.name).readFile(recordPath(node.prefix)).catch(() => undefined)
  if (typeof (text && parseRecord(text.toString('utf8')))?.entry === 'string') return undefined
  return new UserError('UPGRADE_REFUSED', `${node.name} runs a runtime that cannot change its code in place (started by an older kctl). Nothing was changed.`, {
    hint: `Run \`kctl restart --all-at-once ${node.name}\` once (connections are refused while it restarts), then \`kctl upgrade\`.`,
  })
}

/**
 * Points the node at its new version and, when it runs, hands it over to a supervisor
 * started from that version. False when the node was not running.
 * @throws ExternalError NODE_RELOAD_FAILED (the node keeps serving on its version)
 */
async function moveNode(c: LoadedCluster, m: Move, running: boolean, report: Reporter): Promise<boolean> {
  const host = hostFor(c.state, m.node.name)
  const dir = versionDir(c, m.node, m.to)
  if (!(await host.exists(join(dir, 'package.json')))) {
    throw new UserError('RUNTIME_NOT_INSTALLED', `kctl ${m.to}'s runtime, which ${m.node.name} would move to, is no longer installed (${dir}).`, {hint: `Run \`kctl upgrade\` with kctl ${m.to}.`})
  }
  const file = entryPath(m.node.prefix)
  const previous = await host.readFile(file)
  await host.writeFile(file, `${installedEntry(dir)}\n`)
  await pointUnitAt(c, m.node, m.to)
  if (!running) return false
  report.step(`Moving ${m.node.name} to kctl ${m.to}${m.from ? ` (from ${m.from})` : ''}`)
  try {
    if (!(await replace(c, m.node, 'handover'))) return false
    const reported = await reportedVersion(c, m.node)
    if (reported !== m.to) {
      throw new ExternalError('NODE_RELOAD_FAILED', `${m.node.name} was restarted but reports kctl ${reported ?? 'no version'} instead of ${m.to}.`, '', {hint: `\`kctl logs ${m.node.name}\` shows what it ran.`})
    }
    return true
  } catch (err) {
    // the node keeps its version: a later reload or restart must not pick the new one
    if (previous) await host.writeFile(file, previous)
    else await host.remove(file)
    if (m.from) await pointUnitAt(c, m.node, m.from)
    throw err
  }
}

/** `kctl_version` from the node's `/status`, or undefined. */
async function reportedVersion(c: LoadedCluster, node: NodeState): Promise<string | undefined> {
  const base = await reachUrl(hostFor(c.state, node.name), listenUrl(node.listen.status))
  if (!base) return undefined
  try {
    const body = (await (await fetch(`${base}/status`, {signal: AbortSignal.timeout(5000)})).json()) as {kctl_version?: unknown}
    return typeof body.kctl_version === 'string' ? body.kctl_version : undefined
  } catch {
    return undefined
  }
}

/** Removes installed runtimes that no node runs or can roll back to. */
async function pruneRuntimes(c: LoadedCluster): Promise<void> {
  const keep = new Set(Object.values(c.state.nodes).flatMap((n) => (n.runtime ? [n.runtime.version, n.runtime.previous] : [])))
  const root = join(c.stateDir, 'runtime')
  for (const v of await readdir(root).catch(() => [] as string[])) if (!keep.has(v)) await rm(join(root, v), {recursive: true, force: true})
}
