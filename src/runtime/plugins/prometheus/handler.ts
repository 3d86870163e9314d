/**
 * prometheus: records Kong's request metrics in the log phase (only the families the
 * config enables, as Kong 3.x); `/metrics` on the status listener renders them with
 * the node's own gauges (see exporter.ts).
 */
import {GATEWAY_VERSION, type PluginHandler, type PluginStates, type ConfigOf} from '../../pdk/index.js'
import {Metrics} from './metrics.js'
import {schema} from './schema.js'

type Config = ConfigOf<typeof schema>

export const handler: PluginHandler<Config, unknown, Metrics> = {
  name: 'prometheus',
  version: GATEWAY_VERSION,
  priority: 13,
  /** What this proxy recorded; `/metrics` reads it with `recordedMetrics`. */
  state: {create: () => new Metrics()},
  log(k, conf) {
    const m = k.state
    // as Kong: a request no route matched is not counted
    if (!k.route) return
    const service = k.service ? String(k.service.name ?? k.service.host ?? '') : ''
    const route = String(k.route.name ?? k.route.id)
    // Kong's labels always end with `consumer`: the consumer's username with per_consumer,
    // else empty (a consumer with only a custom_id too, as Kong's `message.consumer.username`)
    const consumer = conf.per_consumer && typeof k.consumer?.username === 'string' ? k.consumer.username : ''
    const base = {service, route, workspace: 'default'}
    if (conf.status_code_metrics) {
      const source = k.proxied ? 'service' : 'kong'
      m.inc('kong_http_requests_total', {service, route, code: String(k.status), source, workspace: 'default', consumer})
    }
    if (conf.latency_metrics) {
      const l = k.latencies
      if (l.total !== undefined && l.total >= 0) m.observe('kong_request_latency_ms', base, l.total)
      if (l.upstream !== undefined && l.upstream >= 0) m.observe('kong_upstream_latency_ms', base, l.upstream)
      if (l.proxy !== undefined && l.proxy >= 0) m.observe('kong_kong_latency_ms', base, l.proxy)
    }
    if (conf.bandwidth_metrics) {
      if (k.bytesIn > 0) m.inc('kong_bandwidth_bytes', {service, route, direction: 'ingress', workspace: 'default', consumer}, k.bytesIn)
      if (k.bytesOut > 0) m.inc('kong_bandwidth_bytes', {service, route, direction: 'egress', workspace: 'default', consumer}, k.bytesOut)
    }
  },
}

/** What the prometheus plugin recorded in the proxy owning `states`; undefined when it never ran there. */
export const recordedMetrics = (states: PluginStates): Metrics | undefined => states.peek(handler.state!)
