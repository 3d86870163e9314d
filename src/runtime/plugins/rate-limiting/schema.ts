/** rate-limiting's config, field for field and default for default as Kong 3.9's. */
import {headerName, host, sni, type Field, definePluginSchema} from '../../pdk/index.js'
import {PERIODS} from './counters.js'

const limit = <P extends string>(period: P) => [period, {type: 'number', gt: 0, description: `Requests allowed per ${period}.`}] as const satisfies readonly [string, Field]

const redis = {
  type: 'record',
  description: 'Redis connection, for the redis policy.',
  fields: [
    ['host', host('A string representing a host name, such as example.com.')],
    ['port', {type: 'integer', default: 6379, between: [0, 65535]}],
    ['timeout', {type: 'integer', default: 2000, between: [0, 2147483646]}],
    ['username', {type: 'string'}],
    ['password', {type: 'string', len_min: 0, encrypted: true}],
    ['database', {type: 'integer', default: 0}],
    ['ssl', {type: 'boolean', required: false, default: false, description: 'If set to true, uses SSL to connect to Redis.'}],
    ['ssl_verify', {type: 'boolean', required: false, default: false, description: 'If set to true, verifies the server certificate against kong.conf lua_ssl_trusted_certificate.'}],
    ['server_name', sni('A string representing an SNI (server name indication) value for TLS.')],
  ],
} as const satisfies Field

/** Kong's refusal, worded as for its other rate-limiting plugins. */
export const CLUSTER_IN_HYBRID =
  "[rate-limiting] strategy 'cluster' is not supported with Hybrid deployments. If you did not specify the strategy, please use 'redis' strategy or 'local' strategy."

export const schema = definePluginSchema({
  control_plane_check: (c) => (c.policy === 'cluster' ? CLUSTER_IN_HYBRID : null),
  custom_validator: validateConfig,
  fields: [
    ...PERIODS.map(limit),
    ['limit_by', {type: 'string', default: 'consumer', one_of: ['consumer', 'credential', 'ip', 'service', 'header', 'path', 'consumer-group'], description: 'What the counters are per.'}],
    ['header_name', {...headerName(), description: 'Header to limit by (limit_by header).'}],
    ['path', {type: 'string', starts_with: '/', description: 'Path to limit by (limit_by path).'}],
    ['policy', {type: 'string', default: 'local', len_min: 0, one_of: ['local', 'cluster', 'redis'], description: 'Where counters live: local (per proxy process), cluster (in the node database, shared by its nodes) or redis (shared).'}],
    ['fault_tolerant', {type: 'boolean', required: true, default: true, description: 'Proxy when the counter store fails.'}],
    ['redis', redis],
    ['hide_client_headers', {type: 'boolean', required: true, default: false, description: 'Do not send the rate limit headers.'}],
    ['error_code', {type: 'number', default: 429, gt: 0, description: 'Status code when a limit is exceeded.'}],
    ['error_message', {type: 'string', default: 'API rate limit exceeded', description: 'Message when a limit is exceeded.'}],
    ['sync_rate', {type: 'number', required: true, default: -1, description: 'Seconds between counter syncs to redis; -1 counts every request in redis at once (the only value kctl runs yet).'}],
  ],
  entity_checks: [
    (c) => (PERIODS.some((p) => c[p] != null) ? null : {'@entity': `at least one of these fields must be non-empty: ${PERIODS.map((p) => `'config.${p}'`).join(', ')}`}),
    (c) => (c.limit_by === 'header' && c.header_name == null ? {header_name: 'required field missing'} : null),
    (c) => (c.limit_by === 'path' && c.path == null ? {path: 'required field missing'} : null),
    (c) => (c.policy === 'redis' && (c.redis as {host?: string | null} | null | undefined)?.host == null ? {redis: {host: 'required field missing'}} : null),
  ],
})

const SYNC_RATE_REALTIME = -1

/**
 * Kong's custom validator: a longer period may not have a lower limit than a shorter
 * one; `sync_rate` only with the redis policy, at least 0.02 s. kctl then refuses a
 * sync_rate other than -1, which it does not run yet, rather than accept and ignore it.
 */
function validateConfig(c: Record<string, unknown>): string | null {
  if (typeof c.sync_rate === 'number' && c.sync_rate !== SYNC_RATE_REALTIME) {
    if (c.policy !== 'redis') return 'sync_rate can only be used with the redis policy'
    if (c.sync_rate < 0.02) return 'sync_rate must be greater than 0.02, or -1 to disable'
    return 'sync_rate other than -1 is not supported yet: kctl counts every request in redis at once; set sync_rate to -1'
  }
  return periodsOrdered(c)
}

/** Kong refuses a longer period with a lower limit than a shorter one. */
function periodsOrdered(c: Record<string, unknown>): string | null {
  for (let i = 0; i < PERIODS.length; i++) {
    const v1 = c[PERIODS[i]]
    if (typeof v1 !== 'number') continue
    for (let j = i + 1; j < PERIODS.length; j++) {
      const v2 = c[PERIODS[j]]
      if (typeof v2 === 'number' && v2 < v1) {
        return `The limit for ${PERIODS[j]}(${v2.toFixed(1)}) cannot be lower than the limit for ${PERIODS[i]}(${v1.toFixed(1)})`
      }
    }
  }
  return null
}
