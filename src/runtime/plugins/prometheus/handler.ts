/**
 * prometheus: records Kong's request metrics in the log phase (only the families the
 * config enables, as Kong 3.x); `/metrics` on the status listener renders them with
 * the node's own gauges (see exporter.ts).
 */
import {GATEWAY_VERSION} from '../../kit/version.js'
import type {PluginHandler} from '../types.js'
import {Metrics} from './metrics.js'

export const handler: PluginHandler = {
  name: 'prometheus',
  version: GATEWAY_VERSION,
  priority: 13,
  log(k, conf) {
    const m = (k.state.metrics ??= new Metrics())
    const service = k.service ? String(k.service.name ?? k.service.host ?? '') : ''
    const route = k.route ? String(k.route.name ?? k.route.id) : ''
    const consumer = conf.per_consumer && k.consumer ? String(k.consumer.username ?? k.consumer.id) : ''
    const base = {service, route, workspace: 'default'}
    const withConsumer = conf.per_consumer ? {...base, consumer} : base
    if (conf.status_code_metrics) {
      const source = k.proxied ? 'service' : 'kong'
      m.inc('kong_http_requests_total', {service, route, code: String(k.status), source, workspace: 'default', ...(conf.per_consumer ? {consumer} : {})})
    }
    if (conf.latency_metrics) {
      const l = k.latencies
      if (l.total !== undefined) m.observe('kong_request_latency_ms', base, l.total)
      if (l.upstream !== undefined) m.observe('kong_upstream_latency_ms', base, l.upstream)
      if (l.proxy !== undefined) m.observe('kong_kong_latency_ms', base, l.proxy)
    }
    if (conf.bandwidth_metrics) {
      m.inc('kong_bandwidth_bytes', {...withConsumer, direction: 'ingress'}, k.bytesIn)
      m.inc('kong_bandwidth_bytes', {...withConsumer, direction: 'egress'}, k.bytesOut)
    }
  },
}
