/**
 * The JSON contract of `kctl status --json` (pinned by test/status/cli.test.ts). Times are
 * epoch seconds, as Kong's `last_seen`; ages are derived at display time from `checked_at`.
 *
 *   {cluster, mode, spec, checked_at, healthy, problems[],
 *    database: {kind, address, state, reachable: {node: bool|null}},
 *    nodes: [{name, role, host, pid, state, started_at, listen, reachable, ready,
 *             error, config_version, config_hash, database_reachable,
 *             restarts, last_crash: null | {at, cause}, kctl_version}],
 *    control_plane: null | {node, reachable, error, unreachable_since, config_hash,
 *                           connected_data_planes, ping_interval},
 *    data_planes: [{id, node, hostname, ip, version, config_hash, sync, sync_status,
 *                   last_seen, cert_expiry, labels}]}
 */
import type {Mode} from '../../cluster/spec.js'
import type {ProcessState} from '../cluster.js'

/** in_sync: the CP's hash; behind: another hash; stale: silent > 1.5 ping intervals; incompatible: refused by the CP. */
export type SyncState = 'in_sync' | 'behind' | 'stale' | 'incompatible'
export const SYNC_STATES: readonly SyncState[] = ['in_sync', 'behind', 'stale', 'incompatible']

export interface StatusResult {
  cluster: string
  mode: Mode
  /** The kctl.yaml the cluster was read from. */
  spec: string
  checked_at: number
  /** false when any node is down or failed, a source unreachable, or a DP stale, behind or incompatible. */
  healthy: boolean
  /** One line per reason `healthy` is false. */
  problems: string[]
  database: DatabaseStatus
  nodes: NodeStatus[]
  /** Hybrid only: the CP kctl asked for `/clustering/data-planes`. */
  control_plane: ControlPlaneStatus | null
  /** Hybrid only: every DP the CP knows, those not in kctl.yaml included (`node: null`). */
  data_planes: DataPlaneStatus[]
}

export interface DatabaseStatus {
  kind: 'embedded' | 'external'
  /** host:port/database, no credentials. */
  address: string
  /** Embedded only: the Postgres process; null for an external server. */
  state: ProcessState | null
  /** Per node with a database: what its `/status` says (null: the node did not answer). */
  reachable: Record<string, boolean | null>
}

export interface NodeStatus {
  name: string
  role: string
  host: string
  pid: number | null
  state: ProcessState
  /** Process start (epoch seconds) when known. */
  started_at: number | null
  listen: {proxy?: string; admin?: string; cluster?: string; status?: string}
  /** `/status` answered. */
  reachable: boolean
  /** `/status/ready` answered 200 (null: not asked, the node is not running). */
  ready: boolean | null
  /** Why the node did not answer or is not ready. */
  error: string | null
  /** Traditional and CP nodes: `configuration_version` from `/status`. */
  config_version: string | null
  /** CP and DP nodes: the configuration hash the node holds. */
  config_hash: string | null
  database_reachable: boolean | null
  /** Serving processes the node's supervisor started after a crash (null: unknown). */
  restarts: number | null
  /** The serving process's last crash: when (epoch seconds) and why (exit code or signal, its `crashed:` line). */
  last_crash: LastCrash | null
  /** The kctl release whose runtime the node runs, as its `/status` says (null: it did not answer). */
  kctl_version: string | null
}

export interface LastCrash {
  at: number
  cause: string
}

export interface ControlPlaneStatus {
  node: string
  reachable: boolean
  error: string | null
  /** When the CP stopped answering (epoch seconds), null while it answers. */
  unreachable_since: number | null
  config_hash: string | null
  connected_data_planes: number | null
  /** Seconds, from the CP's conf (`cluster_ping_interval`, Kong's default 30). */
  ping_interval: number
}

export interface DataPlaneStatus {
  id: string
  /** The kctl.yaml node name, or null for a DP joined from elsewhere. */
  node: string | null
  hostname: string
  ip: string
  version: string
  config_hash: string
  sync: SyncState
  /** Kong's `sync_status` as the CP reports it. */
  sync_status: string
  last_seen: number
  /** Certificate expiry (epoch seconds) when the CP knows it. */
  cert_expiry: number | null
  labels: Record<string, string>
}
