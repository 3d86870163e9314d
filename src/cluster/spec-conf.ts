/**
 * Extra Kong configuration in the spec: `spec.conf` for every node and `spec.nodes[i].conf`
 * for one node (it wins over `spec.conf`), e.g. `{cluster_ping_interval: 5, log_level: debug}`.
 *
 * Keys are the runtime's own (`CONF_KEYS`), checked against their types. Keys kctl writes
 * from other parts of the spec (role, listeners, database, certificates, prefix) are
 * refused, naming where to set them, so each value lives in one place in kctl.yaml and
 * kctl's own bookkeeping (ports, pids, certificate paths) stays true.
 */
import {CONF_KEYS, type ConfKey} from '../runtime/conf/defaults.js'
import {valueErrors} from '../runtime/conf/load.js'
import {nearestConfKey} from '../runtime/conf/nearest.js'

export type ConfValue = string | number | boolean | string[]
/** `conf:` as written in kctl.yaml. */
export type ConfSpec = Record<string, ConfValue>

type At = (key: string, message: string) => void

/** Where a key kctl writes itself is set instead; `node` is the node's spec key, e.g. `spec.nodes[1]`. */
function managedBy(key: string, node: string): string | undefined {
  if (key === 'role' || /^(proxy|admin|status|cluster)_listen$/.test(key)) return `${node}.${key}`
  // pg_timeout and pg_pool_size are tuning, not the connection: those stay settable.
  if (key === 'database' || /^pg_(host|port|user|password|database|ssl)$/.test(key)) return 'spec.database'
  if (['cluster_cert', 'cluster_cert_key', 'cluster_ca_cert', 'cluster_mtls', 'kctl_cluster_pinned_certs'].includes(key)) return 'spec.certificates (`kctl certs rotate` renews them)'
  if (key === 'cluster_control_plane') return "the control planes' cluster_listen (data planes connect there, moving to the next one when theirs fails)"
  if (key === 'prefix') return "kctl's state directory (KCTL_DATA_DIR)"
  return undefined
}

/**
 * Checks a `conf` mapping; `key` is its spec key (`spec.conf`, `spec.nodes[0].conf`) and
 * `node` the key managed listeners are named under (`spec.nodes[0]`, or `spec.nodes[i]`).
 */
export function checkConf(raw: unknown, key: string, node: string, at: At): void {
  if (raw === undefined) return
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return at(key, 'must be a mapping of Kong configuration keys, e.g. {cluster_ping_interval: 5, log_level: debug}')
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    const at2 = (m: string) => at(`${key}.${name}`, m)
    const def = (CONF_KEYS as Record<string, ConfKey>)[name]
    if (!def) {
      const near = nearestConfKey(name)
      at2(`not a configuration key of the gateway runtime${near ? ` (did you mean ${near}?)` : ''}`)
      continue
    }
    const owner = managedBy(name, node)
    if (owner) {
      at2(`kctl sets this key itself; set it through ${owner}`)
      continue
    }
    const problem = valueProblem(def, value)
    if (problem) at2(problem)
    // the runtime's own checks of the value (Kong's start-up messages), before any node is touched
    else for (const message of valueErrors(name, def.type === 'list' ? listItems(value as ConfValue) : value)) at2(message)
  }
}

function valueProblem(def: ConfKey, value: unknown): string | undefined {
  if (value === null || value === undefined) return 'needs a value; remove the key to use the default'
  switch (def.type) {
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : 'must be a number'
    case 'boolean':
      return typeof value === 'boolean' || value === 'on' || value === 'off' ? undefined : 'must be true or false'
    case 'list': {
      const items = typeof value === 'string' ? [value] : Array.isArray(value) ? value : null
      if (!items || !items.every((i) => typeof i === 'string')) return 'must be a string or a list of strings'
      if (Array.isArray(value) && items.some((i) => i.includes(','))) return 'list items cannot contain commas (Kong splits list values on them)'
      return textProblem(items.join(', '))
    }
    default: {
      if (typeof value !== 'string' && typeof value !== 'number') return 'must be a string'
      if (def.one_of && !def.one_of.includes(String(value))) return `must be one of ${def.one_of.join(', ')}`
      return textProblem(String(value))
    }
  }
}

/** A list value as the runtime reads it: `a, b` or `[a, b]` → items. */
function listItems(value: ConfValue): string[] {
  return (Array.isArray(value) ? value : String(value).split(',')).map((s) => s.trim()).filter(Boolean)
}

/** kong.conf is line based and trims values: a line break or edge whitespace cannot round-trip. */
function textProblem(text: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) return 'must be one line without control characters'
  if (text !== text.trim()) return 'must not start or end with spaces'
  return undefined
}

/** A checked value as kong.conf text (booleans as on/off, lists comma separated); `#` is escaped when the line is written. */
export function confText(value: ConfValue): string {
  if (typeof value === 'boolean') return value ? 'on' : 'off'
  if (Array.isArray(value)) return value.join(', ')
  return String(value)
}

/** The extra conf of one node: `spec.conf`, then the node's own `conf` over it, as text. */
export function nodeExtraConf(spec: {conf?: ConfSpec; nodes: {name: string; conf?: ConfSpec}[]}, node: string): Record<string, string> {
  const merged = {...spec.conf, ...spec.nodes.find((n) => n.name === node)?.conf}
  return Object.fromEntries(Object.entries(merged).map(([k, v]) => [k, confText(v)]))
}
