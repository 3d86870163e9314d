/**
 * A real hybrid cluster for status tests, made as a user makes one: a kctl.yaml on free
 * ports whose `spec.conf` sets a short `cluster_ping_interval`, then `kctl init` (embedded
 * Postgres, generated shared certificate, one CP, N DPs). Nodes are stopped and started
 * with signals and `kctl start`. `cleanup()` destroys the cluster and kills every pid seen.
 */
import {readFileSync} from 'node:fs'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import type {ClusterState, NodeState} from '../../src/cluster/state.js'
import {findFreePort} from '../../src/kit/ports.js'
import {isAlive} from '../../src/kit/process.js'
import {createSandbox, type KctlRun, type Sandbox} from '../helpers/kctl.js'
import {hybridPorts, type HybridPorts} from '../helpers/specs.js'
import {until} from '../helpers/until.js'
import {launchNode} from './launch.js'

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
  /** `kctl start NODE` (waits until ready; a DP until in sync). */
  start(node: string): Promise<void>
  /** A DP kctl.yaml does not list (joined from elsewhere), connected to the CP; returns its pid. */
  startStray(): Promise<number>
  cleanup(): Promise<void>
}

function specYaml(name: string, p: HybridPorts, pingInterval: number): string {
  const dps = p.dps.map((d, i) => `    - {name: dp-${i + 1}, role: data_plane, proxy_listen: "127.0.0.1:${d.proxy}", status_listen: "127.0.0.1:${d.status}"}`)
  return `apiVersion: kctl/v1
kind: Cluster
metadata: {name: ${name}}
spec:
  mode: hybrid
  database: {embedded: true}
  conf: {cluster_ping_interval: ${pingInterval}}
  nodes:
    - {name: cp-1, role: control_plane, admin_listen: "127.0.0.1:${p.cp.admin}", status_listen: "127.0.0.1:${p.cp.status}", cluster_listen: "127.0.0.1:${p.cp.cluster}"}
${dps.join('\n')}
`
}

export async function startHybridCluster(options: {dataPlanes?: number; pingInterval?: number} = {}): Promise<HybridCluster> {
  const pingInterval = options.pingInterval ?? 1
  const name = 'st'
  const sb: Sandbox = await createSandbox()
  const state = (): ClusterState => JSON.parse(readFileSync(join(sb.dataDir, 'clusters', name, 'state.json'), 'utf8'))
  const must = async (...args: string[]) => {
    const r = await sb.kctl(...args)
    if (r.code !== 0) throw new Error(`kctl ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`)
    await sb.kctl('nodes', '--json') // records the pids for cleanup
  }
  try {
    const ports = await hybridPorts(options.dataPlanes ?? 2)
    await writeFile(join(sb.cwd, 'kctl.yaml'), specYaml(name, ports, pingInterval))
    await must('init', '--yes')
    return {
      name,
      cwd: sb.cwd,
      dataDir: sb.dataDir,
      admin: `http://127.0.0.1:${ports.cp.admin}`,
      pingInterval,
      kctl: (...args) => sb.kctl(...args),
      pid: (node) => state().nodes[node]?.pid,
      async kill(node, signal) {
        const pid = state().nodes[node]?.pid
        if (!pid || !isAlive(pid)) return
        process.kill(pid, signal)
        await until(`${node} (pid ${pid}) to be gone`, () => !isAlive(pid))
      },
      start: (node) => must('start', node),
      startStray: () => startStray(sb, state(), ports, pingInterval),
      cleanup: () => sb.cleanup(),
    }
  } catch (err) {
    await sb.cleanup()
    throw err
  }
}

/** A DP with the cluster's shared certificate, outside kctl.yaml and kctl's state. */
async function startStray(sb: Sandbox, state: ClusterState, ports: HybridPorts, pingInterval: number): Promise<number> {
  const prefix = join(sb.dir, 'stray')
  const listen = {proxy: `127.0.0.1:${await findFreePort()}`, status: `127.0.0.1:${await findFreePort()}`}
  const node: NodeState = {name: 'stray', role: 'data_plane', prefix, confPath: join(prefix, 'kong.conf'), logFile: join(prefix, 'logs', 'node.log'), intent: 'running', listen}
  const certs = state.certificates!
  const l = await launchNode(node, {
    role: 'data_plane',
    database: 'off',
    cluster_mtls: 'shared',
    cluster_cert: certs.cert,
    cluster_cert_key: certs.key,
    cluster_control_plane: `127.0.0.1:${ports.cp.cluster}`,
    cluster_ping_interval: pingInterval,
    cluster_dp_labels: 'site:far',
    proxy_listen: listen.proxy,
    status_listen: listen.status,
    admin_listen: 'off',
  })
  sb.pids.add(l.pid)
  await l.ready()
  return l.pid
}
