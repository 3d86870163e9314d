/**
 * Bringing a cluster up, as an ordered list of named phases. Each has a title (what the
 * progress display shows), `run`, and `plan` (the dry-run form: what it would do).
 *
 *   1 Preflight            runtime built, every port this run needs is free
 *     Install on hosts     other hosts: the bundle (only what differs), service user, folders (remote-install.ts)
 *   2 Certificates         hybrid: generate what is missing (phases-hybrid.ts)
 *   3 Database             embedded: initdb once, start, create the database; url: connect
 *   4 Migrations           run pending migrations (idempotent)
 *     Reach the database   nodes on other hosts: a TCP connection from their host to the database
 *   5 Start nodes          write kong.conf, spawn each target traditional node / control plane
 *   6 Wait ready           GET /status/ready = 200 on each of them
 *     Reach the CPs        data planes on other hosts: a TCP connection from their host to each running CP's cluster port
 *   7 Start data planes    hybrid: spawn, wait until /status answers
 *   8 Wait in sync         hybrid: every DP started reports the CP's configuration hash
 *
 * If a phase fails, everything this run started is stopped again (nothing half-running).
 */
import {existsSync} from 'node:fs'
import {basename} from 'node:path'
import pg from 'pg'
import {ExternalError, UserError} from '../kit/errors.js'
import {allFinished} from '../kit/in-batches.js'
import {runtimeEntry} from '../kit/paths.js'
import {migrate, MIGRATIONS} from '../runtime/db/migrations.js'
import {packageVersion} from '../kit/paths.js'
import {clusterRuntimeVersion} from './runtime-install.js'
import {hostNamed, processRunning} from './hosts/index.js'
import {stopNode, waitNodeReady} from './launcher.js'
import {parseListen} from './listen.js'
import {launchAll} from './launch.js'
import {checkClusterConnectivity} from './connectivity.js'
import {dbDown, hostOf, onOtherHost, RERUN_AFTER_UNDO, startedHere, startedNodes, targets, type Phase, type UpContext} from './phase.js'
import {certificatesPhase, dataPlanesReachControlPlanes, startDataPlanes, waitInSyncPhase} from './phases-hybrid.js'
import {createDatabase, initCluster, initClusterOn, startServer, stopServer, type PgConnection, type PostgresInstance} from './postgres.js'
import {installOn, postgresNativeIn} from './remote-install.js'
import {LOCAL_HOST_NAME} from './spec-hosts.js'
import {DATABASE_NODE, type Mode} from './spec.js'
import {launchedProcess, recordProcess, writeState, type NodeState} from './state.js'
import {specIndex} from './topology.js'

export type {Phase, UpContext} from './phase.js'

const preflight: Phase = {
  title: 'Preflight: ports and runtime',
  plan: async (ctx) => [
    ...((await dbDown(ctx)) ? [`check port ${ctx.state.connection.port} (database) is free`] : []),
    ...(await targets(ctx)).flatMap((n) => listenChecks(n).map((c) => `check port ${c.port} (${c.key} of ${n.name}) is free`)),
  ],
  async run(ctx) {
    const spec = basename(ctx.specPath)
    if ((await dbDown(ctx)) && !(await hostOf(ctx, DATABASE_NODE).portFree('127.0.0.1', ctx.state.connection.port))) {
      throw new UserError('PORT_IN_USE', `Port ${ctx.state.connection.port} is already in use (the embedded database's port).`, {hint: `Stop what uses it, or set spec.database.port in ${spec} to a free port and run kctl init again.`})
    }
    const nodes = await targets(ctx)
    // every port checked, the hosts side by side; the first taken one in the spec's order is reported
    const checks = nodes.flatMap((node) => listenChecks(node).map((c) => ({node, ...c})))
    const free = await Promise.all(checks.map((c) => hostOf(ctx, c.node.name).portFree(c.host, c.port)))
    const taken = checks.find((_, i) => !free[i])
    if (taken) {
      const key = `spec.nodes[${specIndex(ctx.spec, taken.node.name)}].${taken.key}`
      throw new UserError('PORT_IN_USE', `Port ${taken.port} is already in use: ${taken.host}:${taken.port} is ${taken.key} of node ${taken.node.name} (${key} in ${spec}).`, {hint: `Stop what listens on port ${taken.port}, or change ${key} in ${spec}, then run the command again.`})
    }
    if (nodes.length > 0 && !existsSync(runtimeEntry())) {
      throw new UserError('NODE_START_FAILED', `The gateway runtime is not built (${runtimeEntry()} is missing).`, {hint: 'Run `npm run build`.'})
    }
  },
}

function listenChecks(node: NodeState): {key: string; host: string; port: number}[] {
  return (['proxy', 'admin', 'status', 'cluster'] as const).flatMap((k) => {
    const parsed = node.listen[k] ? parseListen(node.listen[k]!) : []
    return typeof parsed === 'string' ? [] : parsed.map((a) => ({key: `${k}_listen`, host: a.host, port: a.port}))
  })
}

/** The other hosts this run starts something on: the database's (when down) and the target nodes'. */
async function remoteHostsOf(ctx: UpContext): Promise<string[]> {
  const names = new Set<string>()
  if ((await dbDown(ctx)) && ctx.state.embedded?.host && ctx.state.embedded.host !== LOCAL_HOST_NAME) names.add(ctx.state.embedded.host)
  for (const n of await targets(ctx)) if (n.host && n.host !== LOCAL_HOST_NAME) names.add(n.host)
  return [...names]
}

const install: Phase = {
  title: 'Install on hosts',
  applies: async (ctx) => (await remoteHostsOf(ctx)).length > 0,
  plan: async (ctx) => (await remoteHostsOf(ctx)).map((h) => `install kctl ${ctx.state.installs?.[h]?.version ?? ''} on ${h} (${ctx.state.hosts?.[h]?.paths.install}), sending only what differs`.replace('kctl  on', 'kctl on')),
  async run(ctx) {
    const names = await remoteHostsOf(ctx)
    if (names.length === 0) return
    const dbHost = ctx.state.embedded?.host
    // Every host's install is let finish (or fail) before a failure is reported, so the
    // clean-up that follows never races an upload still going on to another host.
    const done = await allFinished(names, async (name) => {
      const def = ctx.state.hosts![name]
      const host = hostNamed(name, def)!
      const r = await installOn(host, def.paths, ctx.state.name, {postgres: name === dbHost, previous: ctx.state.installs?.[name]})
      ctx.report.info(`${name}: ${r.bytesSent ? `sent ${formatBytes(r.bytesSent)}` : 'nothing to send'} (${r.install.dir})`)
      return [name, r] as const
    })
    ctx.state.installs ??= {}
    for (const [name, r] of done) {
      ctx.state.installs[name] = r.install
      ctx.uploaded = {...ctx.uploaded, [name]: (ctx.uploaded?.[name] ?? 0) + r.bytesSent}
    }
    const emb = ctx.state.embedded
    if (emb && dbHost && names.includes(dbHost)) {
      const inst = ctx.state.installs[dbHost]
      emb.instance.binaries = {nativeDir: postgresNativeIn(inst.dir), version: inst.version}
      emb.instance.runAs = {user: inst.user, uid: inst.uid, gid: inst.gid}
      ctx.state.connection.host = hostOf(ctx, DATABASE_NODE).address
    }
    await writeState(ctx.stateDir, ctx.state)
  },
}

const formatBytes = (n: number): string => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : n >= 1024 ? `${(n / 1024).toFixed(1)} kB` : `${n} bytes`)

/** The database connection as this machine reaches it (through the database host's SSH connection when it is another host). */
export async function reachableConnection(ctx: UpContext): Promise<PgConnection> {
  const conn = ctx.state.connection
  if (!ctx.state.embedded) return conn
  const to = await hostOf(ctx, DATABASE_NODE).reach(conn.host, conn.port)
  return {...conn, host: to.host, port: to.port}
}

const database: Phase = {
  title: 'Database',
  plan: async (ctx) =>
    ctx.state.embedded
      ? (await dbDown(ctx)) ? [`start the embedded Postgres on 127.0.0.1:${ctx.state.connection.port}`] : ['embedded Postgres already running']
      : [`connect to ${ctx.state.connection.host}:${ctx.state.connection.port}/${ctx.state.connection.database}`],
  async run(ctx) {
    const emb = ctx.state.embedded
    const conn = ctx.state.connection
    if (!emb) return checkExternal(ctx)
    if (!(await processRunning(ctx.state, DATABASE_NODE))) {
      const host = hostOf(ctx, DATABASE_NODE)
      if (host.isLocal) await initCluster(emb.instance)
      else await initClusterOn(host, emb.instance, await clientAddresses(ctx))
      ctx.report.info(`starting Postgres on ${host.isLocal ? '127.0.0.1' : `${host.name} at ${conn.host}`}:${conn.port}`)
      const settings = host.isLocal ? undefined : {listen_addresses: conn.host === '127.0.0.1' ? conn.host : `127.0.0.1,${conn.host}`}
      const server = await startServer(emb.instance, {logFile: emb.logFile, hint: portHint(emb.instance, basename(ctx.specPath)), host, settings})
      recordProcess(emb, server.process)
      if (server.started) ctx.started.database = server.process
    }
    emb.intent = 'running'
    await writeState(ctx.stateDir, ctx.state)
    if (await createDatabase(await reachableConnection(ctx), conn.database)) ctx.report.info(`created database ${conn.database}`)
  },
}

/** Names the spec key that sets the port Postgres failed on, and the unprivileged user's limit. */
function portHint(pgi: PostgresInstance, spec: string): string {
  const range = pgi.runAs ? ` (from 1024 up: Postgres runs as the unprivileged user ${pgi.runAs.user})` : ''
  return `Check the Postgres log above. If it cannot use port ${pgi.port}, set spec.database.port in ${spec} to a free port${range} and run the command again.`
}

async function checkExternal(ctx: UpContext): Promise<void> {
  const {host, port, database: db} = ctx.state.connection
  const client = new pg.Client({...ctx.state.connection, connectionTimeoutMillis: 5000})
  try {
    await client.connect()
    await client.query('SELECT 1')
  } catch (err) {
    throw new ExternalError('DATABASE_FAILED', `Can't connect to the database at ${host}:${port}/${db}: ${(err as Error).message}`, '', {hint: 'Check spec.database.url in the spec and that the server is running.'})
  } finally {
    await client.end().catch(() => {})
  }
}

const migrations: Phase = {
  title: 'Migrations',
  plan: async () => ['run pending migrations'],
  async run(ctx) {
    // nodes on another kctl's runtime keep running: this kctl's migrations that they could
    // not work with wait for `kctl upgrade`, which says so
    const other = clusterRuntimeVersion(ctx.state) !== packageVersion()
    const ran = await migrate(await reachableConnection(ctx), other ? MIGRATIONS.filter((m) => m.compatible) : MIGRATIONS)
    ctx.report.info(ran.length ? `ran ${ran.join(', ')}` : 'database is up to date')
  },
}

const withDatabase = (n: NodeState): boolean => n.role !== 'data_plane'

/** The nodes with a database this run starts on other hosts. */
const remoteDatabaseNodes = async (ctx: UpContext): Promise<NodeState[]> => (await targets(ctx)).filter((n) => withDatabase(n) && onOtherHost(n))

/** Before they start: from each such node's host, a TCP connection to the database at the address its kong.conf names. */
const nodesReachDatabase: Phase = {
  title: 'Check node hosts reach the database',
  applies: async (ctx) => (await remoteDatabaseNodes(ctx)).length > 0,
  plan: async (ctx) => (await remoteDatabaseNodes(ctx)).map((n) => `from ${n.host} (${n.name}), connect to the database at ${ctx.state.connection.host}:${ctx.state.connection.port}`),
  async run(ctx) {
    const nodes = await remoteDatabaseNodes(ctx)
    await checkClusterConnectivity(ctx.state, {nodes: nodes.map((n) => n.name), then: RERUN_AFTER_UNDO})
    const hosts = [...new Set(nodes.map((n) => n.host))]
    ctx.report.info(`${hosts.join(', ')} reach${hosts.length === 1 ? 'es' : ''} the database at ${ctx.state.connection.host}:${ctx.state.connection.port}`)
  },
}

const startNodes: Phase = {
  title: 'Start nodes',
  plan: async (ctx) => (await targets(ctx)).filter(withDatabase).map((n) => `start ${n.name} (${n.role})`),
  async run(ctx) {
    await launchAll(ctx, (await targets(ctx)).filter(withDatabase))
  },
}

const waitReady: Phase = {
  title: 'Wait until ready',
  plan: async (ctx) => (await targets(ctx)).filter(withDatabase).map((n) => `wait for ${n.name}: GET ${n.listen.status}/status/ready = 200`),
  async run(ctx) {
    await Promise.all(startedNodes(ctx).filter(withDatabase).map((n) => waitNodeReady(n, hostOf(ctx, n.name), launchedProcess(n)!)))
  },
}

/** The phases that bring up a cluster of this mode. */
export function upPhases(mode: Mode): readonly Phase[] {
  if (mode !== 'hybrid') return [preflight, install, database, migrations, nodesReachDatabase, startNodes, waitReady]
  return [preflight, install, certificatesPhase, database, migrations, nodesReachDatabase, {...startNodes, title: 'Start control planes'}, waitReady, dataPlanesReachControlPlanes, startDataPlanes, waitInSyncPhase]
}

/** Just the database (`kctl start postgres`): it needs neither migrations nor nodes. */
export const DATABASE_PHASES: readonly Phase[] = [preflight, install, database]

/**
 * Who may connect to a database on another host (its pg_hba): every host of the cluster,
 * and this machine (as the database host sees it) when a node runs here.
 */
async function clientAddresses(ctx: UpContext): Promise<string[]> {
  const out = new Set<string>(['127.0.0.1'])
  for (const name of Object.keys(ctx.state.hosts ?? {})) {
    const h = hostNamed(name, ctx.state.hosts![name])
    if (h) out.add(h.address)
  }
  if (Object.values(ctx.state.nodes).some((n) => (n.host ?? LOCAL_HOST_NAME) === LOCAL_HOST_NAME && n.role !== 'data_plane')) {
    const seen = await hostOf(ctx, DATABASE_NODE).run('sh', ['-c', 'echo "${SSH_CLIENT%% *}"'])
    if (seen.stdout.trim()) out.add(seen.stdout.trim())
  }
  return [...out]
}

/** Runs the phases in order; on failure stops what this run started, records it, and rethrows. */
export async function runPhases(phases: readonly Phase[], ctx: UpContext): Promise<void> {
  try {
    for (const phase of phases) {
      if (phase.applies && !(await phase.applies(ctx))) continue
      ctx.report.step(phase.title)
      await phase.run(ctx)
    }
  } catch (err) {
    await undo(ctx)
    throw err
  }
}

/**
 * Stops what this run started, on every host. A host that cannot be reached any more (the
 * failure may be that host going down) does not keep the others' processes running: each stop
 * is tried, and one that fails is reported, not thrown over the error that caused the undo.
 */
async function undo(ctx: UpContext): Promise<void> {
  const stops: Promise<void>[] = []
  const attempt = (what: string, host: string, stop: () => Promise<unknown>, after: () => void) =>
    stops.push(
      stop().then(after, (err: Error) => ctx.report.warn(`could not stop ${what} on ${host}: ${err.message.split('\n')[0]}`)),
    )
  for (const node of Object.values(ctx.state.nodes)) {
    const proc = launchedProcess(node)
    if (!proc || !startedHere(ctx, proc)) continue
    const host = hostOf(ctx, node.name)
    attempt(node.name, host.name, () => stopNode(proc, host), () => {
      recordProcess(node, undefined)
      node.intent = 'stopped'
    })
  }
  await Promise.all(stops.splice(0)) // the nodes first, then the database they use
  const emb = ctx.state.embedded
  if (ctx.started.database && emb) {
    const host = hostOf(ctx, DATABASE_NODE)
    attempt('the embedded database', host.name, () => stopServer({process: ctx.started.database!, host}), () => {
      recordProcess(emb, undefined)
      emb.intent = 'stopped'
    })
  }
  await Promise.all(stops)
  if (existsSync(ctx.stateDir)) await writeState(ctx.stateDir, ctx.state)
}

/** The dry-run form: each phase's title and what it would do. */
export async function planPhases(phases: readonly Phase[], ctx: UpContext): Promise<{title: string; actions: string[]}[]> {
  const plans: {title: string; actions: string[]}[] = []
  for (const p of phases) if (!p.applies || (await p.applies(ctx))) plans.push({title: p.title, actions: await p.plan(ctx)})
  return plans
}
