/** kctl.yaml texts for the multi-node modes, on free ports, for end-to-end tests. */
import {findFreePort} from '../../src/kit/ports.js'

export interface HybridPorts {
  cp: {admin: number; status: number; cluster: number}
  dps: {proxy: number; status: number}[]
}

export async function hybridPorts(dataPlanes = 2): Promise<HybridPorts> {
  const cp = {admin: await findFreePort(), status: await findFreePort(), cluster: await findFreePort()}
  const dps = []
  for (let i = 0; i < dataPlanes; i++) dps.push({proxy: await findFreePort(), status: await findFreePort()})
  return {cp, dps}
}

export interface HybridSpecOptions {
  /** `spec.conf.cluster_ping_interval` in seconds; none: kctl's default. */
  pingInterval?: number
  /** `spec.certificates`; none: kctl's defaults (mtls shared, 1095 days). */
  certificates?: {mtls?: 'shared' | 'pki'; days?: number}
}

/** One control plane `cp-1` and a data plane `dp-N` for each of `p.dps`, on embedded Postgres. */
export function hybridSpec(name: string, p: HybridPorts, options: HybridSpecOptions = {}): string {
  const dps = p.dps.map((d, i) => `    - {name: dp-${i + 1}, role: data_plane, proxy_listen: "127.0.0.1:${d.proxy}", status_listen: "127.0.0.1:${d.status}"}`)
  const conf = options.pingInterval === undefined ? '' : `\n  conf: {cluster_ping_interval: ${options.pingInterval}}`
  const certificates = options.certificates ? `\n  certificates: ${JSON.stringify(options.certificates)}` : ''
  return `apiVersion: kctl/v1
kind: Cluster
metadata: {name: ${name}}
spec:
  mode: hybrid
  database: {embedded: true}${conf}${certificates}
  nodes:
    - {name: cp-1, role: control_plane, admin_listen: "127.0.0.1:${p.cp.admin}", cluster_listen: "127.0.0.1:${p.cp.cluster}", status_listen: "127.0.0.1:${p.cp.status}"}
${dps.join('\n')}
`
}

export interface TraditionalPorts {
  proxy: number
  admin: number
  status: number
}

export async function distributedPorts(nodes = 2): Promise<TraditionalPorts[]> {
  const out = []
  for (let i = 0; i < nodes; i++) out.push({proxy: await findFreePort(), admin: await findFreePort(), status: await findFreePort()})
  return out
}

export function distributedSpec(name: string, ports: TraditionalPorts[]): string {
  const nodes = ports.map((p, i) => `    - {name: node-${i + 1}, role: traditional, proxy_listen: "127.0.0.1:${p.proxy}", admin_listen: "127.0.0.1:${p.admin}", status_listen: "127.0.0.1:${p.status}"}`)
  return `apiVersion: kctl/v1
kind: Cluster
metadata: {name: ${name}}
spec:
  mode: distributed
  database: {embedded: true}
  nodes:
${nodes.join('\n')}
`
}
