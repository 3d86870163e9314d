/**
 * Hybrid nodes as real processes for clustering tests: a control plane on a freshly
 * migrated database and data planes pointed at it, on free loopback ports, with a 1 s
 * `cluster_ping_interval` unless told otherwise. Every process is a `spawnNode` one, so
 * `killAll()` in `after` ends them all. `rawDataPlane` speaks the v1 protocol from the
 * test itself and records every reconfigure frame it receives.
 */
import {randomUUID} from 'node:crypto'
import WebSocket from 'ws'
import {findFreePort} from '../../src/kit/ports.js'
import {EMPTY_CONFIG_HASH} from '../../src/runtime/clustering/config-hash.js'
import {decodeReconfigure, encodeBasicInfo, OUTLET_PATH, type PluginInfo, type Reconfigure} from '../../src/runtime/clustering/protocol.js'
import {GATEWAY_VERSION} from '../../src/runtime/kit/version.js'
import {spawnNode, type NodeProcess} from './node-process.js'
import type {TestPostgres} from './postgres.js'

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

/** Spawns a data plane of the CP on `cluster` (does not wait: a refused DP never gets ready). */
export async function spawnDataPlane(dir: string, cluster: number, extra: ConfValues = {}): Promise<DataPlaneNode> {
  const [proxy, status] = [await findFreePort(), await findFreePort()]
  const values = {
    role: 'data_plane',
    database: 'off',
    cluster_control_plane: `127.0.0.1:${cluster}`,
    proxy_listen: `127.0.0.1:${proxy}`,
    status_listen: `127.0.0.1:${status}`,
    cluster_ping_interval: 1,
    ...extra,
  }
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
