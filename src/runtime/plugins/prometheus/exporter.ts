/**
 * `/metrics`: what the prometheus plugin recorded, plus gauges about the node itself —
 * upstream target health (the targets of the current snapshot, their state from the
 * health checks), and on data planes the control plane link and the cluster certificate
 * expiry. Kong's metric names throughout.
 */
import {GATEWAY_VERSION} from '../../pdk/index.js'
import {labelText, type Metrics} from './metrics.js'

export interface NodeGauges {
  /** `kong_node_info{node_id, version}`. */
  nodeId?: string
  /** Nodes with a database: whether it answers (`kong_datastore_reachable`). */
  datastoreReachable?: boolean
  /** Data planes: whether the control plane link is up. */
  controlPlaneConnected?: boolean
  /** Data planes: cluster certificate expiry (Unix seconds). */
  clusterCertExpiry?: number
  /** The proxy's connection counters (`kong_nginx_connections_total`, `kong_nginx_requests_total`). */
  connections?: ConnectionCounts
  /** Control planes: the data planes they know (`kong_data_plane_*`). */
  dataPlanes?: ReadonlyArray<DataPlaneSeen>
}

/** nginx's stub_status counters, as `/status` `server` has them. */
export interface ConnectionCounts {
  connections_accepted: number
  connections_handled: number
  connections_active: number
  connections_reading: number
  connections_writing: number
  connections_waiting: number
  total_requests: number
}

/** A data plane as a control plane recorded it (`clustering_data_planes`). */
export interface DataPlaneSeen {
  id: string
  hostname: string
  ip: string
  last_seen: number
  config_hash: string
  version: string
  sync_status: string
}

/** A data plane that cannot take this control plane's configuration (Kong's `data_plane_version_compatible` 0). */
const INCOMPATIBLE = new Set(['kong_version_incompatible', 'plugin_set_incompatible', 'plugin_version_incompatible'])
const CONNECTION_STATES: ReadonlyArray<[string, keyof ConnectionCounts]> = [
  ['accepted', 'connections_accepted'],
  ['handled', 'connections_handled'],
  ['total', 'total_requests'],
  ['active', 'connections_active'],
  ['reading', 'connections_reading'],
  ['writing', 'connections_writing'],
  ['waiting', 'connections_waiting'],
]

/** A number as Lua's `tostring` prints it (`%.14g`): Kong's config hash gauge is a float of 128 bits. */
export function luaNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e14) return String(n)
  const [mantissa, exp] = n.toExponential(13).split('e')
  const e = Number(exp)
  if (e >= -4 && e < 14) return String(Number(n.toPrecision(14)))
  const m = mantissa.replace(/\.?0+$/, '')
  return `${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`
}

/** Kong's `config_hash_to_number`: the md5 hex as one number. */
const hashNumber = (hash: string): number => (/^[0-9a-f]+$/i.test(hash) ? Number(BigInt(`0x${hash}`)) : 0)

const HELP: Record<string, string> = {
  kong_http_requests_total: 'HTTP status codes per consumer/service/route in Kong',
  kong_request_latency_ms: 'Total latency incurred during requests for each service/route in Kong',
  kong_upstream_latency_ms: 'Latency added by upstream response for each service/route in Kong',
  kong_kong_latency_ms: 'Latency added by Kong and enabled plugins for each service/route in Kong',
  kong_bandwidth_bytes: 'Total bandwidth (ingress/egress) throughput in bytes',
}
const STATES = ['healthchecks_off', 'healthy', 'unhealthy', 'dns_error']

/**
 * A target's health (`HEALTHY`, `UNHEALTHY`, `HEALTHCHECKS_OFF`, `DNS_ERROR`); undefined
 * leaves its series out (nobody can say, see workers/proxy-host.ts).
 */
export type HealthOf = (upstreamId: string, target: string) => string | undefined

/** What the exporter reads of the configuration serving now (the proxy snapshot has it). */
export interface ServingConfig {
  /** Enabled plugin instances: whether prometheus asks for upstream health. */
  readonly plugins: ReadonlyArray<{readonly name: string; readonly config?: {readonly upstream_health_metrics?: unknown} | null}>
  /** Every upstream with its targets. */
  readonly upstreams: ReadonlyArray<{readonly upstream: {readonly id: string; readonly name: string}; readonly targets: ReadonlyArray<{readonly target: string}>}>
}

/** `metrics`: what the plugin recorded (`recordedMetrics`, or several processes' merged), if anything. */
export function renderMetrics(metrics: Metrics | undefined, snapshot: ServingConfig, health: HealthOf, node: NodeGauges = {}): string {
  const out: string[] = []
  if (node.datastoreReachable !== undefined) {
    out.push('# HELP kong_datastore_reachable Datastore reachable from Kong, 0 is unreachable', '# TYPE kong_datastore_reachable gauge')
    out.push(`kong_datastore_reachable ${node.datastoreReachable ? 1 : 0}`)
  }
  // as Kong, what requests recorded only while the plugin is configured
  if (snapshot.plugins.some((p) => p.name === 'prometheus')) out.push(...(metrics?.render(HELP) ?? []))
  // the exporter's own errors: kctl's has none to count, Kong's is there for dashboards and alerts
  out.push('# HELP kong_nginx_metric_errors_total Number of nginx-lua-prometheus errors', '# TYPE kong_nginx_metric_errors_total counter', 'kong_nginx_metric_errors_total 0')
  if (node.connections && node.nodeId !== undefined) {
    const c = node.connections
    out.push('# HELP kong_nginx_connections_total Number of connections by subsystem', '# TYPE kong_nginx_connections_total gauge')
    for (const [state, key] of CONNECTION_STATES) out.push(`kong_nginx_connections_total{${labelText({node_id: node.nodeId, subsystem: 'http', state})}} ${c[key]}`)
    out.push('# HELP kong_nginx_requests_total Number of requests total', '# TYPE kong_nginx_requests_total gauge')
    out.push(`kong_nginx_requests_total{${labelText({node_id: node.nodeId, subsystem: 'http'})}} ${c.total_requests}`)
  }
  if (node.nodeId !== undefined) {
    out.push('# HELP kong_node_info Kong Node metadata information', '# TYPE kong_node_info gauge')
    out.push(`kong_node_info{${labelText({node_id: node.nodeId, version: GATEWAY_VERSION})}} 1`)
  }
  if (snapshot.plugins.some((p) => p.name === 'prometheus' && p.config?.upstream_health_metrics)) {
    out.push('# HELP kong_upstream_target_health Health status of targets of upstream. States = healthchecks_off|healthy|unhealthy|dns_error, value is 1 when state is populated.')
    out.push('# TYPE kong_upstream_target_health gauge')
    for (const {upstream, targets} of snapshot.upstreams) {
      for (const t of targets) {
        const now = health(upstream.id, t.target)?.toLowerCase()
        if (now === undefined) continue
        // a name that did not resolve has no address: Kong's label is then empty
        const address = now === 'dns_error' ? '' : t.target
        for (const s of STATES) out.push(`kong_upstream_target_health{${labelText({upstream: upstream.name, target: t.target, address, state: s, subsystem: 'http'})}} ${s === now ? 1 : 0}`)
      }
    }
  }
  if (node.controlPlaneConnected !== undefined) {
    out.push('# HELP kong_control_plane_connected Kong connected to control plane, 0 is unconnected', '# TYPE kong_control_plane_connected gauge')
    out.push(`kong_control_plane_connected ${node.controlPlaneConnected ? 1 : 0}`)
  }
  if (node.clusterCertExpiry !== undefined) {
    out.push('# HELP kong_data_plane_cluster_cert_expiry_timestamp Unix timestamp of Data Plane\'s cluster_cert expiry time', '# TYPE kong_data_plane_cluster_cert_expiry_timestamp gauge')
    out.push(`kong_data_plane_cluster_cert_expiry_timestamp ${node.clusterCertExpiry}`)
  }
  if (node.dataPlanes) out.push(...dataPlaneGauges(node.dataPlanes))
  return out.join('\n') + '\n'
}

/** A control plane's gauges about its data planes, as Kong's exporter sets them on every scrape. */
function dataPlaneGauges(dps: ReadonlyArray<DataPlaneSeen>): string[] {
  const out: string[] = []
  out.push('# HELP kong_data_plane_config_hash Config hash numeric value of the data plane', '# TYPE kong_data_plane_config_hash gauge')
  for (const dp of dps) out.push(`kong_data_plane_config_hash{${labelText({node_id: dp.id, hostname: dp.hostname, ip: dp.ip})}} ${luaNumber(hashNumber(dp.config_hash))}`)
  out.push('# HELP kong_data_plane_last_seen Last time data plane contacted control plane', '# TYPE kong_data_plane_last_seen gauge')
  for (const dp of dps) out.push(`kong_data_plane_last_seen{${labelText({node_id: dp.id, hostname: dp.hostname, ip: dp.ip})}} ${dp.last_seen}`)
  out.push('# HELP kong_data_plane_version_compatible Version compatible status of the data plane, 0 is incompatible', '# TYPE kong_data_plane_version_compatible gauge')
  for (const dp of dps) out.push(`kong_data_plane_version_compatible{${labelText({node_id: dp.id, hostname: dp.hostname, ip: dp.ip, kong_version: dp.version})}} ${INCOMPATIBLE.has(dp.sync_status) ? 0 : 1}`)
  return out
}
