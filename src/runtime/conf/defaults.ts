/**
 * Node configuration keys, their types and Kong's defaults. Unknown keys in a conf
 * file are ignored with a warning (Kong has hundreds; we support these).
 */
import {ERROR_DEFAULT_TYPES} from './proxy-settings.js'

export type ConfType = 'string' | 'number' | 'boolean' | 'list'

export interface ConfKey {
  type: ConfType
  default: string | number | boolean | string[] | null
  one_of?: readonly string[]
  /** Never logged nor shown by `GET /`. */
  secret?: boolean
}

export const CONF_KEYS = {
  role: {type: 'string', default: 'traditional', one_of: ['traditional', 'control_plane', 'data_plane']},
  database: {type: 'string', default: 'postgres', one_of: ['postgres', 'off']},
  pg_host: {type: 'string', default: '127.0.0.1'},
  pg_port: {type: 'number', default: 5432},
  pg_user: {type: 'string', default: 'kong'},
  pg_password: {type: 'string', default: null, secret: true},
  pg_database: {type: 'string', default: 'kong'},
  pg_ssl: {type: 'boolean', default: false},
  pg_timeout: {type: 'number', default: 5000},
  pg_pool_size: {type: 'number', default: 10},
  declarative_config: {type: 'string', default: null},
  prefix: {type: 'string', default: '/usr/local/kong'},
  proxy_listen: {type: 'string', default: '0.0.0.0:8000 reuseport backlog=16384, 0.0.0.0:8443 http2 ssl reuseport backlog=16384'},
  admin_listen: {type: 'string', default: '127.0.0.1:8001 reuseport backlog=16384, 127.0.0.1:8444 http2 ssl reuseport backlog=16384'},
  status_listen: {type: 'string', default: '127.0.0.1:8007 reuseport backlog=16384'},
  cluster_listen: {type: 'string', default: '0.0.0.0:8005'},
  cluster_control_plane: {type: 'string', default: '127.0.0.1:8005'},
  cluster_cert: {type: 'string', default: null},
  cluster_cert_key: {type: 'string', default: null, secret: true},
  cluster_ca_cert: {type: 'string', default: null},
  cluster_mtls: {type: 'string', default: 'shared', one_of: ['shared', 'pki']},
  cluster_server_name: {type: 'string', default: null},
  /** kctl's: shared mode, a PEM file of further certificates a peer may present (their SHA-256 digests are pinned besides cluster_cert's own); kctl sets it while it rotates the cluster certificate. */
  kctl_cluster_pinned_certs: {type: 'string', default: null},
  cluster_max_payload: {type: 'number', default: 16777216},
  cluster_data_plane_purge_delay: {type: 'number', default: 1209600},
  cluster_ping_interval: {type: 'number', default: 30},
  cluster_dp_labels: {type: 'list', default: []},
  /** Kong's cluster RPC: a control plane serves `/v2/outlet`; a data plane with cluster_incremental_sync connects there. */
  cluster_rpc: {type: 'boolean', default: false},
  /** Kong's incremental sync (`kong.sync.v2` on the cluster RPC); needs cluster_rpc. */
  cluster_incremental_sync: {type: 'boolean', default: false},
  /** kctl's: configuration versions (changes) a control plane keeps for incremental sync; a data plane further behind gets a full sync. */
  kctl_cluster_sync_history: {type: 'number', default: 10000},
  /** kctl's: a data plane asks for the changes since its version (off: it always gets whole configurations, as from an older kctl). */
  kctl_cluster_incremental_sync: {type: 'boolean', default: true},
  /** kctl's: entities one `POST /config` or `POST /kctl/sync` may carry (413 past it). */
  kctl_max_config_entities: {type: 'number', default: 200000},
  node_worker_processes: {type: 'string', default: '1'},
  /** kctl's: keep a serving process loaded and waiting beside the running one, so a crash restart skips loading the code (supervisor/). */
  kctl_warm_spare: {type: 'boolean', default: true},
  /** The origins the Admin API allows (CORS), as Kong's; kctl has no Admin GUI. */
  admin_gui_url: {type: 'list', default: []},
  headers: {type: 'list', default: ['server_tokens', 'latency_tokens', 'X-Kong-Request-Id']},
  error_default_type: {type: 'string', default: 'text/plain', one_of: ERROR_DEFAULT_TYPES},
  /** Files with the templates of the gateway's own errors (`%s`: the message, then the request id), as Kong's. */
  error_template_html: {type: 'string', default: null},
  error_template_json: {type: 'string', default: null},
  error_template_xml: {type: 'string', default: null},
  error_template_plain: {type: 'string', default: null},
  trusted_ips: {type: 'list', default: []},
  real_ip_header: {type: 'string', default: 'X-Real-IP'},
  real_ip_recursive: {type: 'boolean', default: false},
  headers_upstream: {type: 'list', default: ['X-Kong-Request-Id']},
  /** A request with a `Kong-Debug` header gets Kong-Route-Id, Kong-Route-Name, Kong-Service-Id and Kong-Service-Name in its response, as Kong's. */
  allow_debug_header: {type: 'boolean', default: false},
  upstream_keepalive_pool_size: {type: 'number', default: 512},
  upstream_keepalive_max_requests: {type: 'number', default: 10000},
  upstream_keepalive_idle_timeout: {type: 'number', default: 60},
  plugins: {type: 'list', default: ['bundled']},
  log_level: {type: 'string', default: 'notice', one_of: ['debug', 'info', 'notice', 'warn', 'error', 'crit', 'alert', 'emerg']},
  lua_ssl_trusted_certificate: {type: 'list', default: ['system']},
  /** Name resolution of targets and service hosts (conf/dns.ts), as Kong's DNS client. */
  dns_resolver: {type: 'list', default: []},
  dns_hostsfile: {type: 'string', default: '/etc/hosts'},
  dns_valid_ttl: {type: 'number', default: null},
  dns_stale_ttl: {type: 'number', default: 3600},
  dns_not_found_ttl: {type: 'number', default: 30},
  dns_error_ttl: {type: 'number', default: 1},
  ssl_cert: {type: 'list', default: []},
  ssl_cert_key: {type: 'list', default: [], secret: true},
  // the status listener's certificate for its `ssl` addresses; self-signed when unset
  status_ssl_cert: {type: 'list', default: []},
  status_ssl_cert_key: {type: 'list', default: [], secret: true},
} as const satisfies Record<string, ConfKey>

export type ConfName = keyof typeof CONF_KEYS
type ValueOf<K extends ConfKey> = K['type'] extends 'number'
  ? number
  : K['type'] extends 'boolean'
    ? boolean
    : K['type'] extends 'list'
      ? string[]
      : string
export type NodeConf = {[K in ConfName]: (typeof CONF_KEYS)[K]['default'] extends null ? ValueOf<(typeof CONF_KEYS)[K]> | null : ValueOf<(typeof CONF_KEYS)[K]>}
