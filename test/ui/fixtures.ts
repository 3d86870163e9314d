/** Typed status fixtures: a healthy hybrid cluster (cp-1, dp-1, dp-2) and helpers to change it. */
import type {DataPlaneStatus, NodeStatus, StatusResult} from '../../src/services/status/types.js'

export const NOW = 1_800_000_000
export const HASH_A = '4f2a9c1e00000000000000000000000a'
export const HASH_B = '9b7d3e5f0000000000000000000000bb'

export function nodeFixture(name: string, over: Partial<NodeStatus> = {}): NodeStatus {
  const dp = name.startsWith('dp')
  return {
    name,
    role: dp ? 'data_plane' : 'control_plane',
    host: 'localhost',
    pid: 1000 + name.length,
    state: 'running',
    started_at: NOW - 125,
    listen: dp ? {proxy: '127.0.0.1:8000', status: '127.0.0.1:8100'} : {admin: '127.0.0.1:8001', status: '127.0.0.1:8007'},
    reachable: true,
    ready: true,
    error: null,
    config_version: null,
    config_hash: HASH_A,
    database_reachable: dp ? null : true,
    restarts: 0,
    last_crash: null,
    kctl_version: '0.1.0',
    ...over,
  }
}

export function dpFixture(node: string | null, over: Partial<DataPlaneStatus> = {}): DataPlaneStatus {
  return {
    id: `00000000-0000-4000-8000-00000000000${node ? node.slice(-1) : '9'}`,
    node,
    hostname: 'host-a',
    ip: '127.0.0.1',
    version: '3.9.0',
    config_hash: HASH_A,
    sync: 'in_sync',
    sync_status: 'normal',
    last_seen: NOW - 3,
    cert_expiry: NOW + 1094 * 86_400 + 100,
    labels: {region: 'eu'},
    ...over,
  }
}

export function statusFixture(over: Partial<StatusResult> = {}): StatusResult {
  return {
    cluster: 'demo',
    mode: 'hybrid',
    spec: '/srv/demo/kctl.yaml',
    checked_at: NOW,
    healthy: true,
    problems: [],
    database: {kind: 'embedded', address: '127.0.0.1:5432/kong', state: 'running', reachable: {'cp-1': true}},
    nodes: [nodeFixture('cp-1'), nodeFixture('dp-1'), nodeFixture('dp-2')],
    control_plane: {node: 'cp-1', reachable: true, error: null, unreachable_since: null, config_hash: HASH_A, connected_data_planes: 2, ping_interval: 1},
    data_planes: [dpFixture('dp-1'), dpFixture('dp-2')],
    ...over,
  }
}

/** The fixture with one DP changed. */
export function withDp(s: StatusResult, node: string, over: Partial<DataPlaneStatus>): StatusResult {
  return {...s, data_planes: s.data_planes.map((d) => (d.node === node ? {...d, ...over} : d))}
}
