/**
 * The one way tests start gateway nodes and clusters, from the smallest to the whole:
 *
 *   spawnNode(dir, values)        one node process (`runtime/main.js --conf`), any role,
 *                                 its conf from `values`, output captured
 *   startControlPlane / spawnDataPlane
 *                                 spawnNode with hybrid presets on free loopback ports
 *   rawDataPlane                  a v1 data plane inside the test process
 *   clusterBed(prefix)            a test file's shared ground: Postgres, cluster
 *                                 certificate, an upstream; kills every node after the file
 *   startCluster({mode, …})       a whole cluster as a user makes one: kctl.yaml on free
 *                                 ports, then `kctl init` in a sandbox (embedded,
 *                                 distributed or hybrid)
 *   startServingCluster({…})      startCluster, with every proxy serving `/s` from a
 *                                 local upstream (service `s`)
 *
 * Every node process started here is a child of the test process: `killAll()` (which
 * clusterBed's `after` calls) ends them all. In-process servers with no node process
 * (an Admin API, a proxy) come from `gateway.ts` and `proxy/helpers.ts`.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {randomUUID} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {writeFile} from 'node:fs/promises'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before} from 'node:test'
import WebSocket from 'ws'
import type {ClusterState} from '../../src/cluster/state.js'
import {findFreePort} from '../../src/kit/ports.js'
import {isAlive} from '../../src/kit/process.js'
import {generateClusterCertificate} from '../../src/pki/index.js'
import {EMPTY_CONFIG_HASH} from '../../src/runtime/clustering/config-hash.js'
import {decodeReconfigure, encodeBasicInfo, OUTLET_PATH, type PluginInfo, type Reconfigure} from '../../src/runtime/clustering/protocol.js'
import {GATEWAY_VERSION} from '../../src/runtime/kit/version.js'
import {createSandbox, type KctlRun, type Sandbox} from './kctl.js'
import {startTestPostgres, type TestPostgres} from './postgres.js'
import {create, served, startUpstream} from './http.js'
import {distributedPorts, distributedSpec, hybridPorts, hybridSpec, type HybridPorts, type HybridSpecOptions} from './specs.js'
import {until} from './until.js'

const MAIN = new URL('../../src/runtime/main.js', import.meta.url).pathname

// ---- one node process -------------------------------------------------------------

const started: ChildProcess[] = []

export interface NodeProcess {
  proc: ChildProcess
  prefix: string
  output(): string
  exited: Promise<number | null>
  /** Resolves when `/status/ready` answers 200 (needs `status` set). */
  waitReady(timeoutMs?: number): Promise<void>
  waitOutput(re: RegExp, timeoutMs?: number): Promise<void>
  stop(signal?: NodeJS.Signals): Promise<number | null>
  /** The pid of the node's serving process (`proc` is its supervisor), once it runs. */
  servingPid(timeoutMs?: number): Promise<number>
}

export function spawnNode(dir: string, values: Record<string, string | number>, opts: {prefix?: string; status?: string} = {}): NodeProcess {
  const prefix = opts.prefix ?? mkdtempSync(join(dir, 'prefix-'))
  const conf = join(prefix, 'kong.conf')
  writeFileSync(conf, Object.entries({prefix, ...values}).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n')
  const proc = spawn(process.execPath, [MAIN, '--conf', conf], {stdio: ['ignore', 'pipe', 'pipe']})
  started.push(proc)
  let out = ''
  proc.stdout!.on('data', (d) => (out += d))
  proc.stderr!.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)))
  const wait = (what: string, ok: () => Promise<boolean> | boolean, timeoutMs: number) =>
    until(what, ok, {
      timeoutMs,
      abort: () => (proc.exitCode !== null ? `the node exited (${proc.exitCode})` : undefined),
      context: () => `node output:\n${out}`,
    }).then(() => undefined)
  return {
    proc,
    prefix,
    output: () => out,
    exited,
    waitReady: (timeoutMs = 30_000) =>
      wait(`${opts.status}/status/ready to answer 200`, async () => (await fetch(`${opts.status}/status/ready`).catch(() => null))?.status === 200, timeoutMs),
    waitOutput: (re, timeoutMs = 30_000) => wait(`the node to print ${re}`, () => re.test(out), timeoutMs),
    async servingPid(timeoutMs = 30_000) {
      let pid = 0
      await wait('the serving process', () => {
        try {
          const r = JSON.parse(readFileSync(join(prefix, 'supervisor.json'), 'utf8'))
          pid = r.state === 'running' && r.serving_pid ? r.serving_pid : 0
        } catch {
          pid = 0
        }
        return pid > 0
      }, timeoutMs)
      return pid
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
      return exited
    },
  }
}

export function killAll(): void {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
}

// ---- hybrid presets -------------------------------------------------------------

export type ConfValues = Record<string, string | number>

export interface HybridNode {
  node: NodeProcess
  /** http://127.0.0.1:port of the status listener. */
  status: string
  values: ConfValues
}

export interface ControlPlaneNode extends HybridNode {
  admin: string
  cluster: number
}

export interface DataPlaneNode extends HybridNode {
  proxy: string
}

/** A new database on the test server, migrated; returns its name. */
export async function freshDatabase(pg: TestPostgres, name: string): Promise<string> {
  return (await pg.migratedDatabase(name)).database
}

/** The `pg_*` keys of a node using `database` on the test server. */
export const pgValues = (pg: TestPostgres, database: string): ConfValues => ({pg_host: pg.host, pg_port: pg.port, pg_user: pg.user, pg_password: pg.password, pg_database: database})

/** Starts a control plane (`extra` overrides any key) and waits until it is ready. */
export async function startControlPlane(dir: string, pg: TestPostgres, database: string, extra: ConfValues = {}): Promise<ControlPlaneNode> {
  const [admin, status, cluster] = [await findFreePort(), await findFreePort(), await findFreePort()]
  const values = {
    role: 'control_plane',
    ...pgValues(pg, database),
    admin_listen: `127.0.0.1:${admin}`,
    status_listen: `127.0.0.1:${status}`,
    cluster_listen: `127.0.0.1:${cluster}`,
    cluster_ping_interval: 1,
    ...extra,
  }
  const node = spawnNode(dir, values, {status: `http://127.0.0.1:${status}`})
  await node.waitReady()
  return {node, admin: `http://127.0.0.1:${admin}`, status: `http://127.0.0.1:${status}`, cluster, values}
}

/** kong.conf values of a data plane of the CP on port `cluster`, listening on `proxy` and `status` (127.0.0.1), pinging each second. */
export function dataPlaneValues(ports: {cluster: number; proxy: number; status: number}, extra: ConfValues = {}): ConfValues {
  return {
    role: 'data_plane',
    database: 'off',
    cluster_control_plane: `127.0.0.1:${ports.cluster}`,
    proxy_listen: `127.0.0.1:${ports.proxy}`,
    status_listen: `127.0.0.1:${ports.status}`,
    cluster_ping_interval: 1,
    ...extra,
  }
}

/** Spawns a data plane of the CP on `cluster` (does not wait: a refused DP never gets ready). */
export async function spawnDataPlane(dir: string, cluster: number, extra: ConfValues = {}): Promise<DataPlaneNode> {
  const [proxy, status] = [await findFreePort(), await findFreePort()]
  const values = dataPlaneValues({cluster, proxy, status}, extra)
  const node = spawnNode(dir, values, {status: `http://127.0.0.1:${status}`})
  return {node, proxy: `http://127.0.0.1:${proxy}`, status: `http://127.0.0.1:${status}`, values}
}

export interface RawDataPlane {
  id: string
  /** Every reconfigure frame received, in order. */
  frames: Reconfigure[]
  close(): void
}

/**
 * A data plane in the test process: basic_info advertising `plugins` (none by default),
 * then a ping carrying its hash on connect, after every frame and every 300 ms (well inside
 * a 1 s interval's liveness window). `tls` is the client certificate and key (PEM).
 */
export function rawDataPlane(cluster: number, tls: {cert: string | Buffer; key: string | Buffer}, plugins: PluginInfo[] = []): RawDataPlane {
  const id = randomUUID()
  const url = `wss://127.0.0.1:${cluster}${OUTLET_PATH}?node_id=${id}&node_hostname=raw-${id.slice(0, 8)}&node_version=${GATEWAY_VERSION}`
  const ws = new WebSocket(url, {cert: tls.cert, key: tls.key, rejectUnauthorized: false})
  const frames: Reconfigure[] = []
  let hash = EMPTY_CONFIG_HASH
  let pinger: NodeJS.Timeout | undefined
  ws.on('open', () => {
    ws.send(encodeBasicInfo({plugins, labels: {}}), {binary: true})
    ws.ping(hash)
    pinger = setInterval(() => ws.ping(hash), 300)
  })
  ws.on('message', (data) => {
    const msg = decodeReconfigure(data as Buffer)
    frames.push(msg)
    hash = msg.config_hash
    ws.ping(hash)
  })
  ws.on('close', () => clearInterval(pinger))
  ws.on('error', () => {})
  return {
    id,
    frames,
    close() {
      clearInterval(pinger)
      ws.terminate()
    },
  }
}

// ---- a test file's shared ground ------------------------------------------------

export interface ClusterBed {
  dir: string
  certFile: string
  keyFile: string
  /** Set in `before`. */
  pg: TestPostgres
  /** http://127.0.0.1:port of the upstream; set in `before`. */
  upstreamUrl: string
}

export function clusterBed(prefix: string): ClusterBed {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const bed = {dir, certFile: join(dir, 'cluster.crt'), keyFile: join(dir, 'cluster.key')} as ClusterBed
  let upstream: Server | undefined
  before(async () => {
    bed.pg = await startTestPostgres()
    const c = await generateClusterCertificate()
    writeFileSync(bed.certFile, c.cert)
    writeFileSync(bed.keyFile, c.key, {mode: 0o600})
    upstream = createServer((req, res) => res.end(`upstream ${req.url}`))
    await new Promise<void>((r) => upstream!.listen(0, '127.0.0.1', r))
    bed.upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
  })
  after(async () => {
    killAll()
    upstream?.close()
    await bed.pg?.stop()
    rmSync(dir, {recursive: true, force: true})
  })
  return bed
}

// ---- a whole cluster, made by kctl ------------------------------------------------

export interface ClusterOptions {
  /** embedded (default): one traditional node; distributed: `nodes` traditional nodes; hybrid: one CP and `dataPlanes` DPs. */
  mode?: 'embedded' | 'distributed' | 'hybrid'
  /** The cluster's name (metadata.name). Default `e2e`. */
  name?: string
  /** distributed: how many nodes (default 2). */
  nodes?: number
  /** hybrid: how many data planes (default 2). */
  dataPlanes?: number
  /** hybrid: `cluster_ping_interval` in `spec.conf` (default 1 s, so liveness shows fast). */
  pingInterval?: number
  /** hybrid: `spec.certificates` (default: none, so mtls shared, 1095 days). */
  certificates?: HybridSpecOptions['certificates']
}

export interface Cluster {
  name: string
  mode: NonNullable<ClusterOptions['mode']>
  sandbox: Sandbox
  cwd: string
  dataDir: string
  /** http://127.0.0.1:port of the Admin API (the CP's in hybrid mode, node-1's otherwise). */
  admin: string
  /** http://127.0.0.1:port of the proxy of each proxying node, in spec order. */
  proxies: string[]
  pingInterval: number
  kctl(...args: string[]): Promise<KctlRun>
  /** What kctl recorded: the cluster's state.json. */
  state(): ClusterState
  pid(node: string): number | undefined
  /** Signals the node and waits until it is gone. */
  kill(node: string, signal: NodeJS.Signals): Promise<void>
  /** `kctl start NODE` (waits until ready; a DP until in sync). */
  start(node: string): Promise<void>
  /** hybrid: a DP kctl.yaml does not list (joined from elsewhere), connected to the CP and ready; returns its pid. */
  startStray(): Promise<number>
  /** Destroys the cluster, kills every process seen, removes the sandbox. */
  cleanup(): Promise<void>
}

/**
 * A running cluster made by `kctl init --yes` in a fresh sandbox.
 * @throws with kctl's output when init fails (the sandbox is cleaned up first).
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const mode = options.mode ?? 'embedded'
  const name = options.name ?? 'e2e'
  const pingInterval = options.pingInterval ?? 1
  const sb = await createSandbox()
  const state = (): ClusterState => JSON.parse(readFileSync(join(sb.dataDir, 'clusters', name, 'state.json'), 'utf8'))
  const strays: NodeProcess[] = []
  const must = async (...args: string[]) => {
    const r = await sb.kctl(...args)
    if (r.code !== 0) throw new Error(`kctl ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`)
    await sb.kctl('nodes', '--json') // records the pids for cleanup
  }
  const cleanup = async () => {
    for (const s of strays) await s.stop('SIGKILL')
    await sb.cleanup()
  }
  try {
    let admin: string
    let proxies: string[]
    let hybrid: HybridPorts | undefined
    if (mode === 'hybrid') {
      hybrid = await hybridPorts(options.dataPlanes ?? 2)
      await writeFile(join(sb.cwd, 'kctl.yaml'), hybridSpec(name, hybrid, {pingInterval, certificates: options.certificates}))
      admin = `http://127.0.0.1:${hybrid.cp.admin}`
      proxies = hybrid.dps.map((d) => `http://127.0.0.1:${d.proxy}`)
    } else if (mode === 'distributed') {
      const ports = await distributedPorts(options.nodes ?? 2)
      await writeFile(join(sb.cwd, 'kctl.yaml'), distributedSpec(name, ports))
      admin = `http://127.0.0.1:${ports[0].admin}`
      proxies = ports.map((p) => `http://127.0.0.1:${p.proxy}`)
    } else {
      await sb.writeSpec(name)
      admin = `http://127.0.0.1:${sb.ports.admin}`
      proxies = [`http://127.0.0.1:${sb.ports.proxy}`]
    }
    await must('init', '--yes')
    return {
      name,
      mode,
      sandbox: sb,
      cwd: sb.cwd,
      dataDir: sb.dataDir,
      admin,
      proxies,
      pingInterval,
      kctl: (...args) => sb.kctl(...args),
      state,
      pid: (node) => state().nodes[node]?.pid ?? undefined,
      async kill(node, signal) {
        const pid = state().nodes[node]?.pid
        if (!pid || !isAlive(pid)) return
        process.kill(pid, signal)
        await until(`${node} (pid ${pid}) to be gone`, () => !isAlive(pid))
      },
      start: (node) => must('start', node),
      async startStray() {
        if (!hybrid) throw new Error('startStray needs a hybrid cluster')
        const stray = await startStray(sb, state(), hybrid, pingInterval)
        strays.push(stray)
        return stray.proc.pid!
      },
      cleanup,
    }
  } catch (err) {
    await cleanup()
    throw err
  }
}

/** A cluster whose proxies serve `/s` from a local upstream; `cleanup()` also closes the upstream. */
export interface ServingCluster extends Cluster {
  upstream: {server: Server; port: number}
}

/**
 * startCluster, then a local upstream behind service `s` and route `/s`, and every proxy
 * serving it: where the tests that change a running cluster under load start from.
 */
export async function startServingCluster(options: ClusterOptions = {}): Promise<ServingCluster> {
  const upstream = await startUpstream()
  let cluster: Cluster | undefined
  const cleanup = async () => {
    await cluster?.cleanup()
    upstream.server.close()
  }
  try {
    cluster = await startCluster(options)
    await create(`${cluster.admin}/services`, {name: 's', url: `http://127.0.0.1:${upstream.port}`})
    await create(`${cluster.admin}/services/s/routes`, {'paths[]': '/s'})
    for (const p of cluster.proxies) await until(`${p} serves /s`, () => served(`${p}/s/x`).then(() => true, () => false))
    return {...cluster, upstream, cleanup}
  } catch (err) {
    await cleanup()
    throw err
  }
}

/** A DP with the cluster's shared certificate, outside kctl.yaml and kctl's state. */
async function startStray(sb: Sandbox, state: ClusterState, ports: HybridPorts, pingInterval: number): Promise<NodeProcess> {
  const [proxy, status] = [await findFreePort(), await findFreePort()]
  const certs = state.certificates!
  const node = spawnNode(
    sb.dir,
    {
      role: 'data_plane',
      database: 'off',
      cluster_mtls: 'shared',
      cluster_cert: certs.cert,
      cluster_cert_key: certs.key,
      cluster_control_plane: `127.0.0.1:${ports.cp.cluster}`,
      cluster_ping_interval: pingInterval,
      cluster_dp_labels: 'site:far',
      proxy_listen: `127.0.0.1:${proxy}`,
      status_listen: `127.0.0.1:${status}`,
      admin_listen: 'off',
    },
    {status: `http://127.0.0.1:${status}`},
  )
  await node.waitReady()
  return node
}
