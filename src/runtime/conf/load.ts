/**
 * Loads a node's configuration like Kong: defaults, then the `kong.conf` file
 * (`key = value`, `#` comments), then `KONG_<KEY>` environment variables. Then checks
 * the combinations Kong refuses, with Kong's messages.
 */
import {readFileSync} from 'node:fs'
import {CONF_KEYS, type ConfKey, type ConfName, type NodeConf} from './defaults.js'
import {nearestConfKey} from './nearest.js'
import {headerSettingErrors, trustedIpErrors} from './proxy-settings.js'
import {adminGuiUrlErrors} from './admin-gui.js'
import {errorTemplateErrors} from './error-templates.js'
import {trustedCertificateErrors} from './trusted-certificates.js'
import {dnsErrors, dnsResolverErrors} from './dns.js'

export class ConfError extends Error {
  constructor(readonly errors: string[]) {
    super(errors.join('\n'))
    this.name = 'ConfError'
  }
}

/** Parses `kong.conf` text: `key = value`, `#` starts a comment unless escaped as `\#`. */
export function parseConfText(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/(^|[^\\])#.*$/, '$1').replace(/\\#/g, '#').trim()
    if (!line) continue
    const eq = line.indexOf('=')
    if (eq < 0) continue
    out[line.slice(0, eq).trim().toLowerCase()] = line.slice(eq + 1).trim()
  }
  return out
}

function convert(name: string, def: ConfKey, raw: string, errors: string[]): unknown {
  switch (def.type) {
    case 'number': {
      const n = Number(raw)
      if (raw === '' || Number.isNaN(n)) errors.push(`${name} is not a number: '${raw}'`)
      return n
    }
    case 'boolean':
      if (['on', 'true', '1', 'yes'].includes(raw)) return true
      if (['off', 'false', '0', 'no'].includes(raw)) return false
      errors.push(`${name} is not a boolean: '${raw}'`)
      return false
    case 'list':
      return raw === '' ? [] : raw.split(',').map((s) => s.trim()).filter(Boolean)
    default:
      if (def.one_of && !def.one_of.includes(raw)) errors.push(`${name} has an invalid value: '${raw}' (${def.one_of.join(', ')})`)
      return raw
  }
}

export interface LoadOptions {
  /** Path of a kong.conf file. */
  file?: string
  /** Extra values (highest precedence after env), e.g. from tests. */
  overrides?: Partial<Record<ConfName, string | number | boolean>>
  env?: NodeJS.ProcessEnv
  /** Receives each key of the conf file this runtime does not know (it is ignored). */
  onUnknownKey?(key: string, suggestion: string | undefined): void
  /** Receives what Kong warns about at start (a value it changed). */
  onWarning?(message: string): void
}

export function loadConf(opts: LoadOptions = {}): NodeConf {
  const env = opts.env ?? process.env
  const errors: string[] = []
  const fromFile = opts.file ? parseConfText(readFileSync(opts.file, 'utf8')) : {}
  if (opts.onUnknownKey) for (const key of Object.keys(fromFile)) if (!(key in CONF_KEYS)) opts.onUnknownKey(key, nearestConfKey(key))
  const conf: Record<string, unknown> = {}
  for (const [name, def] of Object.entries(CONF_KEYS) as Array<[ConfName, ConfKey]>) {
    const envVal = env[`KONG_${name.toUpperCase()}`]
    const override = opts.overrides?.[name]
    const raw = override !== undefined ? String(override) : envVal !== undefined ? envVal : fromFile[name]
    conf[name] = raw === undefined ? structuredClone(def.default) : convert(name, def, raw, errors)
  }
  errors.push(...checkCombinations(conf as NodeConf))
  if (errors.length) throw new ConfError(errors)
  const c = conf as NodeConf
  if (c.cluster_incremental_sync && !c.cluster_rpc) {
    opts.onWarning?.('Cluster incremental sync has been forcibly disabled, please enable cluster RPC.')
    c.cluster_incremental_sync = false
  }
  return c
}

/** The combinations Kong refuses at start, with Kong's messages. */
export function checkCombinations(c: NodeConf): string[] {
  const errors: string[] = []
  if (c.role === 'control_plane' || c.role === 'data_plane') {
    if (!c.cluster_cert || !c.cluster_cert_key) errors.push('cluster certificate and key must be provided to use Hybrid mode')
    if (c.cluster_mtls === 'pki' && !c.cluster_ca_cert) errors.push('cluster_ca_cert must be specified when cluster_mtls = "pki"')
  }
  if (c.role === 'control_plane' && c.database === 'off') errors.push('in-memory storage can not be used when role = "control_plane"')
  if (c.role === 'data_plane' && c.database !== 'off') errors.push('only in-memory storage can be used when role = "data_plane"')
  if (c.pg_port < 1 || c.pg_port > 65535) errors.push(`pg_port must be between 1 and 65535`)
  for (const name of CHECKED_VALUES) errors.push(...valueErrors(name, c[name]))
  errors.push(...errorTemplateErrors(c))
  errors.push(...trustedCertificateErrors(c))
  errors.push(...dnsErrors(c))
  return errors
}

const CHECKED_VALUES = ['headers', 'headers_upstream', 'trusted_ips', 'upstream_keepalive_pool_size', 'upstream_keepalive_max_requests', 'upstream_keepalive_idle_timeout', 'kctl_max_config_entities', 'admin_gui_url', 'dns_resolver'] as const

/**
 * Kong's start-up errors for one key's value, already of the key's type (a number, a list);
 * none for keys without such checks. kctl.yaml's `conf:` is checked with it too, so a bad
 * value is refused before any node is touched.
 */
export function valueErrors(name: string, value: unknown): string[] {
  switch (name) {
    case 'headers':
      return headerSettingErrors(value as string[], [])
    case 'headers_upstream':
      return headerSettingErrors([], value as string[])
    case 'trusted_ips':
      return trustedIpErrors(value as string[])
    case 'upstream_keepalive_pool_size':
    case 'upstream_keepalive_max_requests':
    case 'upstream_keepalive_idle_timeout':
      return (value as number) < 0 ? [`${name} must be 0 or greater`] : []
    case 'admin_gui_url':
      return adminGuiUrlErrors(value as string[])
    case 'dns_resolver':
      return dnsResolverErrors(value as string[])
    case 'kctl_max_config_entities':
      return Number.isInteger(value) && (value as number) >= 1 ? [] : [`${name} must be a whole number, 1 or greater`]
  }
  return []
}

/** The configuration as `GET /` shows it: secrets removed. */
export function publicConf(c: NodeConf): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, def] of Object.entries(CONF_KEYS) as Array<[ConfName, ConfKey]>) {
    out[name] = def.secret ? (c[name] == null ? null : '******') : c[name]
  }
  return out
}
