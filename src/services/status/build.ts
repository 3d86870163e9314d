/**
 * Pure: local facts + what the nodes answered → the `kctl status` result. Both the
 * one-shot command and the watch build their result here, so they never disagree.
 */
import {expiryWarnings} from '../../cluster/cert-inventory.js'
import {LOCAL_HOST} from '../../cluster/hosts/local.js'
import {syncsByVersion, versionHash, type ListedDataPlane} from '../../runtime/clustering/data-planes.js'
import type {NodeProbe} from './probe.js'
import type {LocalCluster, LocalNode} from './local.js'
import type {ConnectedTo, DataPlaneStatus, NodeStatus, StatusResult, SyncState} from './types.js'
import {dialAddress} from '../../cluster/listen.js'

/** The CP source of a hybrid cluster: its last good answer is kept while it is away. */
export interface CpObservation {
  node: string
  /** The last `/clustering/data-planes` rows that arrived (null: none yet). */
  rows: ListedDataPlane[] | null
  /** The CP's `configuration_hash` and DP count from its last `/status`. */
  hash: string | null
  /** The CP's `configuration_sync_version`: data planes following by `kong.sync.v2` report it as their hash. */
  version?: number | null
  connected: number | null
  error: string | null
  unreachableSince: number | null
  /** When `rows` arrived (epoch seconds): sync states are judged as of then, so a CP that
   * went away does not make every DP look stale. */
  rowsAt: number | null
}

export interface Observations {
  /** By node name; a node not probed yet is absent. */
  nodes: Record<string, NodeProbe>
  cp: CpObservation | null
}

const FINE_SYNC_STATUSES = new Set(['normal', 'unknown', ''])

/**
 * Seconds added to Kong's stale limit. The CP stores `last_seen` in whole seconds, cut
 * down: a ping at 10.99 s reads 10, so a DP pinging every second can look 1.99 s silent
 * and flicker stale at a 1 s interval. With the slack a DP is stale only when even its
 * latest possible ping time is over 1.5 intervals ago. The cost: detection up to one
 * second later; still within 2 intervals of the last ping for intervals of 2 s and more.
 */
export const LAST_SEEN_SLACK_S = 1

/** Kong's rule: a peer silent for more than 1.5 ping intervals is gone (plus the rounding slack above). */
export function syncOf(row: Pick<ListedDataPlane, 'last_seen' | 'sync_status' | 'config_hash'> & {rpc_capabilities?: readonly string[]}, cpHash: string | null, pingInterval: number, now: number, cpVersion: number | null = null): SyncState {
  if (now - row.last_seen > 1.5 * pingInterval + LAST_SEEN_SLACK_S) return 'stale'
  if (!FINE_SYNC_STATUSES.has(row.sync_status ?? '')) return 'incompatible'
  // a DP following by kong.sync.v2 reports its version, not a hash of its configuration
  const expected = syncsByVersion(row) ? (cpVersion === null ? null : versionHash(cpVersion)) : cpHash
  return expected !== null && row.config_hash === expected ? 'in_sync' : 'behind'
}

/** Restarts and last crash: the supervisor's record, else what `/status` says. */
function crashesOf(n: LocalNode, body: NodeProbe['body']): Pick<NodeStatus, 'restarts' | 'last_crash'> {
  if (n.supervision) return {restarts: n.supervision.restarts, last_crash: n.supervision.last_crash}
  const c = body?.last_crash
  return {
    restarts: typeof body?.restarts === 'number' ? body.restarts : null,
    last_crash: c && typeof c.at === 'number' && typeof c.cause === 'string' ? {at: c.at, cause: c.cause} : null,
  }
}

/** A DP's control plane from its `/status` (`control_plane: {connected, address}`), named after the CP listening there. */
function connectedTo(local: LocalCluster, n: LocalNode, body: NodeProbe['body']): ConnectedTo | null {
  const address = body?.control_plane?.address
  if (n.role !== 'data_plane' || typeof address !== 'string') return null
  const cp = local.nodes.find((c) => c.role === 'control_plane' && dialAddress(c.listen.cluster) === address)
  return {node: cp?.name ?? null, address, connected: body?.control_plane?.connected === true}
}

function nodeStatus(local: LocalCluster, n: LocalNode, probe: NodeProbe | undefined): NodeStatus {
  const body = probe?.ok ? probe.body : null
  const version = body?.configuration_version
  // a node whose supervisor gave up: why
  const failure = n.state === 'failed' && n.supervision?.state === 'failed' ? n.supervision.failure : null
  return {
    name: n.name,
    role: n.role,
    // this machine keeps its name of old; another host is the spec's name for it
    host: !n.host || n.host === LOCAL_HOST ? 'localhost' : n.host,
    pid: n.pid,
    state: n.state,
    started_at: n.started_at,
    listen: n.listen,
    reachable: Boolean(probe?.ok),
    ready: probe?.ok ? probe.ready : null,
    error: n.state === 'running' ? (probe?.error ?? null) : failure,
    config_version: version === undefined || version === null ? null : String(version),
    config_hash: typeof body?.configuration_hash === 'string' ? body.configuration_hash : null,
    database_reachable: typeof body?.database?.reachable === 'boolean' ? body.database.reachable : null,
    ...crashesOf(n, body),
    connected_to: connectedTo(local, n, body),
    kctl_version: typeof body?.kctl_version === 'string' ? body.kctl_version : null,
  }
}

function dataPlanes(local: LocalCluster, nodes: NodeStatus[], cp: CpObservation | null, now: number): DataPlaneStatus[] {
  const byId = new Map(local.nodes.filter((n) => n.dpId).map((n) => [n.dpId!, n.name]))
  const cpOf = (name: string | undefined) => {
    const to = nodes.find((n) => n.name === name)?.connected_to
    return to?.connected ? (to.node ?? to.address) : null
  }
  return (cp?.rows ?? []).map((r) => ({
    id: r.id,
    node: byId.get(r.id) ?? null,
    hostname: r.hostname,
    ip: r.ip,
    version: r.version,
    config_hash: r.config_hash,
    sync: syncOf(r, cp!.hash, local.pingInterval, cp!.error === null ? now : (cp!.rowsAt ?? now), cp!.version ?? null),
    sync_status: r.sync_status,
    last_seen: r.last_seen,
    cert_expiry: r.cert_details?.expiry_timestamp ?? null,
    control_plane: cpOf(byId.get(r.id)),
    labels: r.labels ?? {},
  }))
}

/** `control_plane.error` of a CP stopped by kctl (not asked, not an alarm). */
export const CP_STOPPED = 'stopped'

/** The CP kctl asks was stopped on purpose (`kctl stop`): no alarm, its node row says stopped. */
export function controlPlaneStopped(s: Pick<StatusResult, 'control_plane' | 'nodes'>): boolean {
  const cp = s.control_plane
  return Boolean(cp) && s.nodes.find((n) => n.name === cp!.node)?.state === 'stopped'
}

/** Why the cluster is not healthy, one line each (empty: healthy). */
export function problemsOf(s: Omit<StatusResult, 'healthy' | 'problems' | 'warnings'>): string[] {
  const out: string[] = []
  if (s.database.state && s.database.state !== 'running') out.push(`the database is ${s.database.state}`)
  for (const n of s.nodes) {
    if (n.state !== 'running') out.push(`${n.name} is ${n.state}${n.error ? ` (${n.error})` : ''}`)
    else if (!n.reachable) out.push(`${n.name} does not answer${n.error ? ` (${n.error})` : ''}`)
    else if (n.ready === false) out.push(`${n.name} is not ready${n.error ? ` (${n.error})` : ''}`)
    if (n.database_reachable === false) out.push(`${n.name} cannot reach the database`)
  }
  const cp = s.control_plane
  if (cp && !cp.reachable && !controlPlaneStopped(s)) out.push(`control plane ${cp.node} is unreachable${cp.error ? ` (${cp.error})` : ''}`)
  for (const d of s.data_planes) if (d.sync !== 'in_sync') out.push(`${d.node ?? d.hostname} is ${d.sync}${d.sync === 'incompatible' ? ` (${d.sync_status})` : ''}`)
  if (cp?.reachable) {
    const known = new Set(s.data_planes.map((d) => d.node))
    for (const n of s.nodes) if (n.role === 'data_plane' && n.state === 'running' && !known.has(n.name)) out.push(`${n.name} is not known to the control plane`)
  }
  return out
}

/**
 * A data plane the CP lists shows the hash from that same CP read on its node row too: its
 * own /status is polled on another loop, so the two would disagree for a frame after each
 * change. The CP's row holds what the DP itself reported in its last ping.
 */
function withCpHash(n: NodeStatus, dpId: string | null, cp: CpObservation | null): NodeStatus {
  const row = dpId ? cp?.rows?.find((r) => r.id === dpId) : undefined
  return row && n.state === 'running' ? {...n, config_hash: row.config_hash} : n
}

export function buildStatus(local: LocalCluster, obs: Observations, now: number): StatusResult {
  const nodes = local.nodes.map((n) => withCpHash(nodeStatus(local, n, obs.nodes[n.name]), n.dpId, obs.cp))
  const c = local.connection
  const reachable: Record<string, boolean | null> = {}
  for (const n of nodes) if (n.role !== 'data_plane') reachable[n.name] = n.database_reachable
  const cp = obs.cp
  const base = {
    cluster: local.name,
    mode: local.mode,
    spec: local.specPath,
    checked_at: Math.floor(now),
    database: {kind: local.embedded ? ('embedded' as const) : ('external' as const), address: `${c.host}:${c.port}/${c.database}`, state: local.embedded?.state ?? null, reachable},
    nodes,
    control_plane: cp
      ? {node: cp.node, reachable: cp.error === null, error: cp.error, unreachable_since: cp.unreachableSince, config_hash: cp.hash, connected_data_planes: cp.connected, ping_interval: local.pingInterval}
      : null,
    data_planes: dataPlanes(local, nodes, cp, now),
  }
  const problems = problemsOf(base)
  return {...base, healthy: problems.length === 0, problems, warnings: expiryWarnings(local.certificates, now)}
}
