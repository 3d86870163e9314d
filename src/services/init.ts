/**
 * `kctl init`: write the spec if there is none, then bring the cluster up through the
 * phases. Re-running reconciles: a running cluster is reported and left alone; a partly
 * stopped one gets what is missing.
 */
import {randomBytes} from 'node:crypto'
import {existsSync} from 'node:fs'
import {mkdir, rmdir, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {UserError} from '../kit/errors.js'
import type {Reporter} from '../kit/output.js'
import {clusterDir} from '../kit/paths.js'
import {findFreePort} from '../kit/ports.js'
import {listenUrl, parseListen} from '../cluster/listen.js'
import type {UpContext} from '../cluster/phases.js'
import type {PgConnection} from '../cluster/postgres.js'
import type {BasePorts} from '../cluster/layout.js'
import {DATABASE_NODE, LISTEN_KEYS, loadSpec, nodeListen, type ClusterSpec, type Mode, type MtlsMode} from '../cluster/spec.js'
import {checkHostsAvailable, processRunning} from '../cluster/hosts/index.js'
import {LOCAL_HOST_NAME, resolveHost} from '../cluster/spec-hosts.js'
import {readState, removeStateDir, writeState, type ClusterState} from '../cluster/state.js'
import {syncNodes} from '../cluster/topology.js'
import {readOwnState, specPathOf, type ClusterRef} from './cluster.js'
import {nodesNotInSpec, notInSpecWarning, pruneNodes} from './init-prune.js'

export interface InitOptions extends ClusterRef {
  /** Deployment mode for a new spec (default embedded). */
  mode?: Mode
  /** Cluster name for a new spec (default demo). */
  name?: string
  /** Existing Postgres server; absent: embedded. */
  databaseUrl?: string
  /** hybrid: number of data planes for a new spec (default 2). */
  dataPlanes?: number
  /** distributed: number of nodes for a new spec (default 2). */
  nodeCount?: number
  /** hybrid: certificate mode for a new spec (default shared). */
  mtls?: MtlsMode
  /** hybrid, shared: existing certificate and key (instead of generated ones). */
  cert?: {cert: string; key: string}
  /** The first node's proxy/admin/status ports for a new spec (default Kong's 8000, 8001, 8007). */
  ports?: BasePorts
  /** Asks for answers the flags did not give; absent when prompting is not possible. */
  ask?: {mode(initial: Mode): Promise<Mode>; name(initial: string): Promise<string>}
  /** Bind the existing cluster of this name to this spec (it replaces the spec the cluster was made from). */
  adopt?: boolean
  /** Remove the nodes the spec no longer has (drained, stopped, forgotten). Without it they are named and left alone. */
  prune?: boolean
  /** Only plan: write nothing, start nothing. */
  dryRun?: boolean
  report: Reporter
}

export interface InitResult {
  cluster: string
  mode: Mode
  spec: string
  /** True when the cluster was already running and nothing changed. */
  already_running: boolean
  /** True when this run wrote kctl.yaml from a template. */
  spec_created: boolean
  /** The first proxy, Admin API and status listener of the cluster. */
  endpoints: {proxy?: string; admin?: string; status?: string}
  /** Every node's proxy URL, in spec order (data planes in hybrid mode). */
  proxies: {node: string; url: string}[]
  database: string
  /** Nodes the spec no longer has that this run removed (`--prune`). */
  removed: string[]
  /** Nodes the spec no longer has, left alone (without `--prune`). */
  not_in_spec: string[]
  /** Bytes this run sent to each other host (absent when it sent to none). */
  uploaded?: Record<string, number>
  plan?: {title: string; actions: string[]}[]
}

export const DEFAULT_NAME = 'demo'

export async function init(options: InitOptions): Promise<InitResult> {
  const specPath = specPathOf(options)
  const {spec, text} = await specFor(options, specPath)
  const created = text !== undefined
  checkHostsAvailable(spec)
  const stateDir = clusterDir(options.stateRoot, spec.metadata.name)
  const existing = await readOwnState(stateDir, spec, specPath, {adopt: options.adopt})
  if (existing && existing.specPath !== specPath) {
    options.report.warn(`Cluster ${existing.name} now belongs to ${specPath} (it was created from ${existing.specPath}).`)
    existing.specPath = specPath
    if (!options.dryRun) await writeState(stateDir, existing)
  }
  const gone = existing ? await nodesNotInSpec(existing, spec, stateDir) : []
  const goneNames = gone.map((n) => n.name)
  const state = existing ?? (await newState(spec, specPath, stateDir, Boolean(options.dryRun)))
  syncNodes(state, spec, stateDir)
  const pruning = Boolean(options.prune && gone.length)
  const result = (alreadyRunning: boolean, plan?: InitResult['plan'], removed: string[] = []): InitResult => {
    const s = summary(state, specPath, created)
    return {...s, proxies: s.proxies.filter((p) => !goneNames.includes(p.node)), already_running: alreadyRunning, removed, not_in_spec: goneNames.filter((n) => !removed.includes(n)), plan}
  }
  if (gone.length && !options.prune) options.report.warn(notInSpecWarning(goneNames, specPath))
  const inSpec = Object.keys(state.nodes).filter((n) => !goneNames.includes(n))
  const ref = {specPath: options.specPath, stateRoot: options.stateRoot, report: options.report}
  const prune = async () => (pruning ? pruneNodes(ref, gone) : [])
  if (existing && !(options.dryRun && pruning) && (await allRunning(state, inSpec))) {
    const removed = options.dryRun ? [] : await prune()
    return result(removed.length === 0, undefined, removed)
  }
  // What brings a cluster up is loaded only now: a re-run that finds it running starts faster without it.
  const [{planPhases, runPhases, upPhases}, {preflightError, preflightSpec}] = await Promise.all([import('../cluster/phases.js'), import('./preflight.js')])
  const ctx: UpContext = {spec, specPath, stateDir, state, nodes: inSpec, report: options.report, started: {nodes: []}}
  const phases = upPhases(spec.spec.mode)
  if (options.dryRun) {
    const plan = await planPhases(phases, ctx)
    if (pruning) plan.push({title: 'Prune', actions: gone.map((n) => `remove ${n.name} (${n.role}): drain, stop, forget${n.role === 'data_plane' ? ", drop its row from the control plane's data-plane list" : ''}`)})
    return result(false, plan)
  }
  // Every other host: reachable, supported, room and ports free, clock in step, before anything changes anywhere.
  const failed = preflightError(await preflightSpec(spec, {state: existing, hosts: 'placed'}), specPath)
  if (failed) throw failed
  if (text !== undefined) await writeFile(specPath, text)
  await mkdir(join(stateDir, 'postgres'), {recursive: true, mode: 0o711})
  await writeState(stateDir, state)
  try {
    await runPhases(phases, ctx)
  } catch (err) {
    // A cluster that never came up leaves nothing behind but its spec (fix it and re-run).
    if (!existing) await discard(state, stateDir)
    throw err
  }
  return {...result(false, undefined, await prune()), ...(ctx.uploaded ? {uploaded: ctx.uploaded} : {})}
}

/** The existing spec, or a new one from the template (`text`, written only once we go ahead). */
async function specFor(options: InitOptions, specPath: string): Promise<{spec: ClusterSpec; text?: string}> {
  if (existsSync(specPath)) {
    const spec = await loadSpec(specPath)
    if (options.name && options.name !== spec.metadata.name) options.report.warn(`${specPath} names the cluster ${spec.metadata.name}; ignoring --name ${options.name}.`)
    if (options.mode && options.mode !== spec.spec.mode) options.report.warn(`${specPath} sets mode ${spec.spec.mode}; ignoring --mode ${options.mode}.`)
    const p = options.ports ?? {}
    const shaping = Object.entries({'--database': options.databaseUrl, '--data-planes': options.dataPlanes, '--nodes': options.nodeCount, '--mtls': options.mtls, '--cert/--key': options.cert, '--proxy-port': p.proxy, '--proxy-ssl-port': p.proxySsl, '--admin-port': p.admin, '--status-port': p.status})
    const ignored = shaping.filter(([, v]) => v !== undefined).map(([flag]) => flag)
    if (ignored.length) options.report.warn(`${specPath} exists; ${ignored.join(', ')} only shape a new spec and ${ignored.length === 1 ? 'is' : 'are'} ignored. Edit ${specPath} (or remove it) to change ${ignored.length === 1 ? 'it' : 'them'}.`)
    return {spec}
  }
  const mode = options.mode ?? (options.ask ? await options.ask.mode('embedded') : 'embedded')
  checkModeFlags(options, mode)
  const name = options.name ?? (options.ask ? await options.ask.name(DEFAULT_NAME) : DEFAULT_NAME)
  const given = Object.values(options.ports ?? {}).some((v) => v !== undefined)
  let rendered
  const {renderSpec} = await import('../cluster/spec-template.js')
  try {
    rendered = await renderSpec({mode, name, databaseUrl: options.databaseUrl, dataPlanes: options.dataPlanes, nodes: options.nodeCount, mtls: options.mtls, cert: options.cert, ports: options.ports})
  } catch (err) {
    // With the default ports the template is valid, so a problem here comes from the port flags.
    if (!given || !(err instanceof UserError) || err.code !== 'SPEC_INVALID') throw err
    throw portsError(err.message.replace(/^[^\n]*:\s*/, ''))
  }
  if (given) {
    const clash = firstClash(rendered.spec)
    if (clash) throw portsError(clash)
  }
  return rendered
}

const portsError = (problem: string) =>
  new UserError('USAGE', `These ports do not fit together: ${problem}`, {
    hint: 'Pick --proxy-port, --proxy-ssl-port, --admin-port and --status-port apart from each other (and from 8005, the cluster port); each further node adds 100 to them, up to 65535.',
  })

/** Two listeners of the generated spec on one port (spec validation compares across nodes only). */
function firstClash(spec: ClusterSpec): string | undefined {
  const owner = new Map<number, string>()
  for (const [i, node] of spec.spec.nodes.entries()) {
    for (const key of LISTEN_KEYS) {
      const parsed = parseListen(nodeListen(node, key) ?? 'off')
      for (const a of typeof parsed === 'string' ? [] : parsed) {
        const here = `spec.nodes[${i}].${key}`
        const first = owner.get(a.port)
        if (first) return first === here ? `port ${a.port} would be twice in ${here}` : `port ${a.port} would be both ${first} and ${here}`
        owner.set(a.port, here)
      }
    }
  }
  return undefined
}

/** Flags that only one mode uses are refused for the others, naming the flag. @throws UserError USAGE */
function checkModeFlags(o: InitOptions, mode: Mode): void {
  const only = (flag: string, given: unknown, wanted: Mode) => {
    if (given !== undefined && mode !== wanted) throw new UserError('USAGE', `${flag} applies to --mode ${wanted} only (this cluster is ${mode}).`, {hint: `Drop ${flag}, or pass --mode ${wanted}.`})
  }
  only('--data-planes', o.dataPlanes, 'hybrid')
  only('--mtls', o.mtls, 'hybrid')
  only('--cert/--key', o.cert, 'hybrid')
  only('--nodes', o.nodeCount, 'distributed')
  if (o.cert && o.mtls === 'pki') throw new UserError('USAGE', '--cert/--key give the one shared certificate; with --mtls pki kctl issues a CA and a certificate per node.', {hint: 'Drop --cert/--key, or use --mtls shared.'})
}

async function newState(spec: ClusterSpec, specPath: string, stateDir: string, dryRun: boolean): Promise<ClusterState> {
  const base = {version: 1 as const, name: spec.metadata.name, mode: spec.spec.mode, specPath, createdAt: new Date().toISOString(), nodes: {}}
  const db = spec.spec.database
  if ('url' in db) return {...base, connection: parseUrl(db.url)}
  const password = randomBytes(18).toString('hex')
  const remote = resolveHost(spec, db.host)
  if (remote) {
    // On another host: Kong's default port there, files under the host's data folder; the
    // binaries, the service user and the address are filled in once kctl installed there.
    const port = db.port ?? 5432
    const dir = join(remote.paths.data, 'postgres')
    const instance = {binaries: {nativeDir: '', version: ''}, dataDir: join(dir, 'data'), port, user: 'kong', password}
    return {...base, connection: {host: remote.ssh.address ?? remote.ssh.host!, port, user: 'kong', password, database: 'kong'}, embedded: {host: remote.name, instance, logFile: join(dir, 'postgres.log'), intent: 'stopped'}}
  }
  const port = db.port ?? (await findFreePort())
  const connection: PgConnection = {host: '127.0.0.1', port, user: 'kong', password, database: 'kong'}
  const instance = dryRun
    ? {binaries: {nativeDir: '', version: ''}, dataDir: join(stateDir, 'postgres', 'data'), port, user: 'kong', password}
    : await (await import('../cluster/postgres.js')).preparePostgres({stateDir, port, user: 'kong', password})
  return {...base, connection, embedded: {instance, logFile: join(stateDir, 'postgres', 'postgres.log'), intent: 'stopped'}}
}

function parseUrl(url: string): PgConnection {
  const u = new URL(url)
  const ssl = ['require', 'verify-ca', 'verify-full'].includes(u.searchParams.get('sslmode') ?? '')
  return {host: u.hostname, port: Number(u.port || 5432), user: decodeURIComponent(u.username || 'kong'), password: decodeURIComponent(u.password) || undefined, database: decodeURIComponent(u.pathname.slice(1)) || 'kong', ssl}
}

async function allRunning(state: ClusterState, nodes: string[]): Promise<boolean> {
  const names = [...(state.embedded ? [DATABASE_NODE] : []), ...nodes]
  return (await Promise.all(names.map((n) => processRunning(state, n)))).every(Boolean)
}

async function discard(state: ClusterState, stateDir: string): Promise<void> {
  const [{removeData}, {uninstallHosts}] = await Promise.all([import('../cluster/postgres.js'), import('./destroy.js')])
  if (state.embedded && (state.embedded.host ?? LOCAL_HOST_NAME) === LOCAL_HOST_NAME) await removeData(state.embedded.instance)
  // every other host this cluster uses: an install cut short leaves its folders and user too
  const used = [...Object.values(state.nodes).map((n) => n.host), state.embedded?.host].filter((h): h is string => Boolean(h && h !== LOCAL_HOST_NAME && state.hosts?.[h]))
  await uninstallHosts(state, [...new Set(used)], {ignoreErrors: true})
  await removeStateDir(stateDir)
  await rmdir(dirname(stateDir)).catch(() => {}) // clusters/, when this was the only one
}

function summary(state: ClusterState, specPath: string, specCreated: boolean): Omit<InitResult, 'already_running' | 'plan' | 'removed' | 'not_in_spec'> {
  const nodes = Object.values(state.nodes)
  const first = (k: 'proxy' | 'admin' | 'status') => listenUrl(nodes.find((n) => n.listen[k])?.listen[k])
  const c = state.connection
  return {
    cluster: state.name,
    mode: state.mode,
    spec: specPath,
    spec_created: specCreated,
    endpoints: {proxy: first('proxy'), admin: first('admin'), status: first('status')},
    proxies: nodes.flatMap((n) => (n.listen.proxy ? [{node: n.name, url: listenUrl(n.listen.proxy)!}] : [])),
    database: `${state.embedded ? 'embedded ' : ''}postgres://${c.user}@${c.host}:${c.port}/${c.database}`,
  }
}
