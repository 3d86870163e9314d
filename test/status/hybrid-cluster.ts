/**
 * A real hybrid cluster for status tests: a throwaway Postgres, a shared cluster
 * certificate, one CP and N DPs as detached runtime processes, written down the way the
 * cluster code does (kctl.yaml, `<data>/clusters/<name>/state.json`, `nodes/<name>/kong.conf`,
 * `logs/node.log`, `node.pid`), so `kctl status` finds it like any cluster. The nodes get
 * a short `cluster_ping_interval`. Every process started here is killed by `cleanup()`.
 */
import {mkdir, mkdtemp, rm, writeFile, chmod} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {launchNode, type Launched} from './launch.js'
import {findFreePort} from '../../src/kit/ports.js'
import {generateClusterCertificate} from '../../src/pki/index.js'
import {migrate} from '../../src/runtime/db/migrations.js'
import {writeState, type ClusterState, type NodeState} from '../../src/cluster/state.js'
import {startTestPostgres, type TestPostgres} from '../helpers/postgres.js'
import {runKctl, type KctlRun} from '../helpers/kctl.js'

export interface HybridCluster {
  name: string
  cwd: string
  dataDir: string
  admin: string
  pingInterval: number
  kctl(...args: string[]): Promise<KctlRun>
  pid(node: string): number | undefined
  /** Signals the node and waits until it is gone. */
  kill(node: string, signal: NodeJS.Signals): Promise<void>
  /** Starts the node again (same conf, prefix and ports) and waits until it is ready. */
  start(node: string): Promise<void>
  /** A DP kctl.yaml does not list (joined from elsewhere), connected to the CP; returns its pid. */
  startStray(): Promise<number>
  cleanup(): Promise<void>
}

interface Ports {
  admin: number
  status: number
  cluster: number
  dps: {proxy: number; status: number}[]
}

function specYaml(name: string, url: string, p: Ports): string {
  const dps = p.dps.map((d, i) => `    - {name: dp-${i + 1}, role: data_plane, proxy_listen: "127.0.0.1:${d.proxy}", status_listen: "127.0.0.1:${d.status}"}`)
  return `apiVersion: kctl/v1
kind: Cluster
metadata: {name: ${name}}
spec:
  mode: hybrid
  database: {url: "${url}"}
  nodes:
    - {name: cp-1, role: control_plane, admin_listen: "127.0.0.1:${p.admin}", status_listen: "127.0.0.1:${p.status}", cluster_listen: "127.0.0.1:${p.cluster}"}
${dps.join('\n')}
`
}

export async function startHybridCluster(options: {dataPlanes?: number; pingInterval?: number} = {}): Promise<HybridCluster> {
  const pingInterval = options.pingInterval ?? 1
  const dir = await mkdtemp(join(tmpdir(), 'kctl-status-'))
  await chmod(dir, 0o755)
  const name = 'st'
  const cwd = join(dir, 'work')
  const dataDir = join(dir, 'data')
  const stateDir = join(dataDir, 'clusters', name)
  await mkdir(cwd, {recursive: true})
  let pg: TestPostgres | undefined
  const launched = new Map<string, Launched>()
  const cleanup = async () => {
    for (const l of launched.values()) l.kill('SIGKILL')
    await pg?.stop()
    await rm(dir, {recursive: true, force: true})
  }
  try {
    pg = await startTestPostgres('kctl_status')
    await migrate({host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: pg.database})
    const cert = await generateClusterCertificate()
    await writeFile(join(dir, 'cluster.crt'), cert.cert)
    await writeFile(join(dir, 'cluster.key'), cert.key, {mode: 0o600})
    const ports: Ports = {admin: await findFreePort(), status: await findFreePort(), cluster: await findFreePort(), dps: []}
    for (let i = 0; i < (options.dataPlanes ?? 2); i++) ports.dps.push({proxy: await findFreePort(), status: await findFreePort()})
    await writeFile(join(cwd, 'kctl.yaml'), specYaml(name, pg.url, ports))

    const common = {cluster_cert: join(dir, 'cluster.crt'), cluster_cert_key: join(dir, 'cluster.key'), cluster_ping_interval: pingInterval}
    const db = {pg_host: pg.host, pg_port: pg.port, pg_user: pg.user, pg_password: pg.password, pg_database: pg.database}
    const nodes: NodeState[] = [
      nodeRecord(stateDir, 'cp-1', 'control_plane', {admin: `127.0.0.1:${ports.admin}`, status: `127.0.0.1:${ports.status}`, cluster: `127.0.0.1:${ports.cluster}`}),
      ...ports.dps.map((d, i) => nodeRecord(stateDir, `dp-${i + 1}`, 'data_plane', {proxy: `127.0.0.1:${d.proxy}`, status: `127.0.0.1:${d.status}`})),
    ]
    const confs: Record<string, Record<string, string | number>> = {
      'cp-1': {role: 'control_plane', ...db, ...common, admin_listen: `127.0.0.1:${ports.admin}`, status_listen: `127.0.0.1:${ports.status}`, cluster_listen: `127.0.0.1:${ports.cluster}`, proxy_listen: 'off'},
    }
    ports.dps.forEach((d, i) => {
      confs[`dp-${i + 1}`] = {role: 'data_plane', database: 'off', ...common, cluster_control_plane: `127.0.0.1:${ports.cluster}`, proxy_listen: `127.0.0.1:${d.proxy}`, status_listen: `127.0.0.1:${d.status}`, admin_listen: 'off'}
    })
    const state: ClusterState = {
      version: 1,
      name,
      mode: 'hybrid',
      specPath: join(cwd, 'kctl.yaml'),
      createdAt: new Date().toISOString(),
      connection: {host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: pg.database},
      nodes: Object.fromEntries(nodes.map((n) => [n.name, n])),
    }
    const save = () => writeState(stateDir, state)
    const start = async (node: string) => {
      const rec = state.nodes[node]
      const l = await launchNode(rec, confs[node])
      launched.set(node, l)
      rec.pid = l.pid
      rec.intent = 'running'
      await save()
      await l.ready()
    }
    for (const n of nodes) await start(n.name)
    return {
      name,
      cwd,
      dataDir,
      admin: `http://127.0.0.1:${ports.admin}`,
      pingInterval,
      kctl: (...args) => runKctl(args, {cwd, env: {KCTL_DATA_DIR: dataDir}}),
      pid: (node) => state.nodes[node]?.pid,
      async kill(node, signal) {
        const l = launched.get(node)
        if (!l) return
        l.kill(signal)
        await l.gone()
      },
      start,
      async startStray() {
        const prefix = join(dir, 'stray')
        const rec = nodeRecord(stateDir, 'stray', 'data_plane', {proxy: `127.0.0.1:${await findFreePort()}`, status: `127.0.0.1:${await findFreePort()}`})
        const node = {...rec, prefix, confPath: join(prefix, 'kong.conf'), logFile: join(prefix, 'logs', 'node.log')}
        const l = await launchNode(node, {...confs['dp-1'], proxy_listen: rec.listen.proxy!, status_listen: rec.listen.status!, cluster_dp_labels: 'site:far'})
        launched.set('stray', l)
        await l.ready()
        return l.pid
      },
      cleanup,
    }
  } catch (err) {
    await cleanup()
    throw err
  }
}

function nodeRecord(stateDir: string, name: string, role: NodeState['role'], listen: NodeState['listen']): NodeState {
  const prefix = join(stateDir, 'nodes', name)
  return {name, role, prefix, confPath: join(prefix, 'kong.conf'), logFile: join(prefix, 'logs', 'node.log'), intent: 'stopped', listen}
}

