/**
 * The nodes of a new spec, per mode, with ports that never collide on one machine.
 *
 * Port rule: every listener takes Kong's default port (proxy 8000 + 8443 ssl, admin 8001,
 * cluster 8005, status 8007) plus 100 for each earlier node in the spec on the same host that
 * has the same listener (nodes on different hosts all keep Kong's defaults). Hybrid with 2 DPs: cp-1 admin 8001, cluster 8005, status 8007; dp-1 proxy 8000
 * (+8443 ssl), status 8107; dp-2 proxy 8100 (+8543 ssl), status 8207. Fixed rather than
 * "next free port", so the ports are predictable and written down in kctl.yaml; preflight
 * names the key to change when one is taken.
 */
import {ROLE_LISTENERS, type ListenKey, type Mode, type NodeSpec, type Role} from './spec.js'
import {hostKey} from './spec-hosts.js'

export interface LayoutInput {
  mode: Mode
  /** hybrid: number of data planes (default 2). */
  dataPlanes?: number
  /** distributed: number of traditional nodes (default 2). */
  nodes?: number
  /** The first node's ports instead of Kong's defaults (`kctl init --proxy-port` …); later nodes shift by 100 as usual. */
  ports?: BasePorts
  /** Node name → the spec host it runs on (absent: this machine). */
  placement?: Record<string, string>
}

/** Ports of the first node with each listener. */
export interface BasePorts {
  proxy?: number
  proxySsl?: number
  admin?: number
  status?: number
}

export const DEFAULT_DATA_PLANES = 2
export const DEFAULT_DISTRIBUTED_NODES = 2

const BASE: Record<ListenKey, (port: (p: number) => number, base: BasePorts) => string> = {
  proxy_listen: (p, b) => `0.0.0.0:${p(b.proxy ?? 8000)}, 0.0.0.0:${p(b.proxySsl ?? 8443)} ssl`,
  admin_listen: (p, b) => `127.0.0.1:${p(b.admin ?? 8001)}`,
  cluster_listen: (p) => `0.0.0.0:${p(8005)}`,
  status_listen: (p, b) => `127.0.0.1:${p(b.status ?? 8007)}`,
}

/** Names and roles per mode, then listeners by the port rule. */
export function layoutNodes(input: LayoutInput): NodeSpec[] {
  const roles: {name: string; role: Role}[] =
    input.mode === 'hybrid'
      ? [{name: 'cp-1', role: 'control_plane'}, ...range(input.dataPlanes ?? DEFAULT_DATA_PLANES).map((i) => ({name: `dp-${i}`, role: 'data_plane' as Role}))]
      : range(input.mode === 'distributed' ? input.nodes ?? DEFAULT_DISTRIBUTED_NODES : 1).map((i) => ({name: `node-${i}`, role: 'traditional' as Role}))
  return assignListeners(roles.map(({name, role}) => ({name, role, ...(input.placement?.[name] ? {host: input.placement[name]} : {})})), input.ports)
}

/** Sets every listener of the nodes by the port rule: +100 per earlier node with that listener on the same host. */
export function assignListeners(nodes: NodeSpec[], ports: BasePorts = {}): NodeSpec[] {
  const seen = new Map<string, Partial<Record<ListenKey, number>>>()
  return nodes.map((n) => {
    const node: NodeSpec = {...n}
    const host = hostKey(n.host)
    const counts = seen.get(host) ?? {}
    seen.set(host, counts)
    for (const key of ROLE_LISTENERS[n.role]) {
      const offset = 100 * (counts[key] ?? 0)
      counts[key] = (counts[key] ?? 0) + 1
      node[key] = BASE[key]((p) => p + offset, ports)
    }
    return node
  })
}

/** The nodes as YAML block entries, indented for `spec.nodes`. */
export function nodesYaml(nodes: NodeSpec[]): string {
  return nodes
    .map((n) => [`- name: ${n.name}`, `  role: ${n.role}`, ...(n.host ? [`  host: ${n.host}`] : []), ...ROLE_LISTENERS[n.role].filter((k) => n[k]).map((k) => `  ${k}: ${n[k]}`)].map((l) => `    ${l}`).join('\n'))
    .join('\n')
}

function range(n: number): number[] {
  return Array.from({length: n}, (_, i) => i + 1)
}
