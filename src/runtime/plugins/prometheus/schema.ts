/** prometheus's config, as Kong 3.9's: each family of metrics is opt-in. */
import {definePluginSchema} from '../../pdk/index.js'

const flag = (description: string) => ({type: 'boolean', required: true, default: false, description}) as const

export const schema = definePluginSchema({
  fields: [
    ['per_consumer', flag('Add the consumer label to request and bandwidth metrics.')],
    ['status_code_metrics', flag('Count requests per status code (kong_http_requests_total).')],
    ['ai_metrics', flag('AI metrics (no AI plugins here: accepted, nothing recorded).')],
    ['latency_metrics', flag('Request, upstream and Kong latency histograms.')],
    ['bandwidth_metrics', flag('Bytes in and out (kong_bandwidth_bytes).')],
    ['upstream_health_metrics', flag('Upstream target health (kong_upstream_target_health).')],
  ],
})
