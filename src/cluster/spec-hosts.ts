/**
 * `spec.hosts[]`, `spec.ssh` and the references to them (`nodes[].host`, `database.host`):
 * the machines a cluster runs on. Hosts are declared once and nodes name them; a node without
 * `host` (or with `host: local`) runs on this machine.
 *
 *   spec:
 *     ssh: {user: ubuntu, identityFile: ~/.ssh/id_ed25519}      # common to every host
 *     hosts:
 *       - {name: edge-1, ssh: {address: 10.0.0.12, port: 22}}
 *       - {name: edge-2, ssh: {host: edge-2}}                   # an alias from ~/.ssh/config
 *     database: {embedded: true, host: edge-1}
 *     nodes: [{name: dp-1, role: data_plane, host: edge-2}, …]
 */
import {isAbsolute, resolve} from 'node:path'
import {editDistance} from '../runtime/conf/nearest.js'

/** How kctl reaches a host over SSH. `address` or `host` (an ssh config alias) is required. */
export interface SshSpec {
  /** An address or DNS name to connect to. */
  address?: string
  /** A `Host` alias from the ssh config (used when `address` is not given). */
  host?: string
  user?: string
  port?: number
  /** Private key (`ssh -i`); `~/` is expanded. */
  identityFile?: string
  /** An ssh_config used instead of `~/.ssh/config` (`ssh -F`). */
  configFile?: string
  /** known_hosts used instead of `~/.ssh/known_hosts` (`UserKnownHostsFile`). */
  knownHostsFile?: string
}

/** What may be set once for every host under `spec.ssh`. */
export type SshDefaults = Omit<SshSpec, 'address' | 'host'>

/** Where kctl writes on a host (nowhere else). */
export interface HostPaths {
  /** Versioned installs (`<install>/<version>/`, a `current` link). */
  install: string
  /** Configuration and certificates. */
  config: string
  /** Data, caches and logs. */
  data: string
}

export interface HostSpec {
  name: string
  ssh: SshSpec
  paths?: Partial<HostPaths>
}

/** A host with `spec.ssh` merged under its own ssh values and every path defaulted. */
export interface ResolvedHost {
  name: string
  ssh: SshSpec
  paths: HostPaths
}

/** The name of this machine: what a node without `host` runs on. Reserved in `spec.hosts`. */
export const LOCAL_HOST_NAME = 'local'

const HOST_NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/
const SSH_KEYS = ['address', 'host', 'user', 'port', 'identityFile', 'configFile', 'knownHostsFile'] as const
const DEFAULT_KEYS = ['user', 'port', 'identityFile', 'configFile', 'knownHostsFile'] as const
const PATH_KEYS = ['install', 'config', 'data'] as const
const HOST_KEYS = ['name', 'ssh', 'paths'] as const

/** kctl's folders on a host, unless its `paths` say otherwise. */
export const defaultHostPaths = (cluster: string): HostPaths => ({install: '/opt/kctl', config: `/etc/kctl/${cluster}`, data: `/var/lib/kctl/${cluster}`})

type At = (key: string, message: string) => void

const isMap = (v: unknown): v is Record<string, unknown> => Boolean(v) && typeof v === 'object' && !Array.isArray(v)

function unknownKeys(v: Record<string, unknown>, allowed: readonly string[], key: string, at: At): void {
  for (const k of Object.keys(v)) {
    if (allowed.includes(k)) continue
    const near = allowed.find((a) => editDistance(a.toLowerCase(), k.toLowerCase()) <= 2)
    at(`${key}.${k}`, `unknown key${near ? ` (did you mean ${near}?)` : ''}; allowed: ${allowed.join(', ')}`)
  }
}

/** The ssh values of `spec.ssh` or of one host; `own` allows address/host (a host's, not the common block). */
function checkSsh(raw: unknown, key: string, own: boolean, at: At): void {
  if (!isMap(raw)) return at(key, own ? 'required: a mapping with address (an IP or DNS name) or host (an alias from your ssh config), e.g. {address: 10.0.0.12, user: ubuntu}' : 'must be a mapping, e.g. {user: ubuntu, identityFile: ~/.ssh/id_ed25519}')
  unknownKeys(raw, own ? SSH_KEYS : DEFAULT_KEYS, key, at)
  for (const k of ['address', 'host', 'user', 'identityFile', 'configFile', 'knownHostsFile'] as const) {
    if (raw[k] !== undefined && (typeof raw[k] !== 'string' || !(raw[k] as string).trim())) at(`${key}.${k}`, 'must be a non-empty string')
  }
  if (raw.port !== undefined && !(Number.isInteger(raw.port) && (raw.port as number) > 0 && (raw.port as number) < 65536)) at(`${key}.port`, 'must be a port number (1-65535)')
  if (!own) return
  if (raw.address === undefined && raw.host === undefined) at(key, 'set address (an IP or DNS name) or host (an alias from your ssh config)')
  else if (raw.address !== undefined && raw.host !== undefined) at(key, 'set address or host, not both (an ssh config alias carries its own address)')
}

/**
 * Checks `spec.hosts`, `spec.ssh`, every `nodes[].host` and `database.host`, reporting each
 * problem with its key (`spec.nodes[2].host: no host named edge-3`).
 */
export function checkHosts(spec: Record<string, unknown>, at: At): void {
  const names = new Set<string>()
  if (spec.ssh !== undefined) checkSsh(spec.ssh, 'spec.ssh', false, at)
  if (spec.hosts !== undefined) {
    if (!Array.isArray(spec.hosts)) at('spec.hosts', 'must be a list of hosts, e.g. [{name: edge-1, ssh: {address: 10.0.0.12}}]')
    else {
      spec.hosts.forEach((raw, i) => {
        const key = `spec.hosts[${i}]`
        if (!isMap(raw)) return at(key, 'must be a mapping: {name, ssh: {address|host, user, port, …}, paths?}')
        unknownKeys(raw, HOST_KEYS, key, at)
        if (typeof raw.name !== 'string' || !HOST_NAME_RE.test(raw.name)) at(`${key}.name`, 'required: lowercase letters, digits and dashes')
        else if (raw.name === LOCAL_HOST_NAME) at(`${key}.name`, `"${LOCAL_HOST_NAME}" is reserved for this machine (a node without host runs here)`)
        else if (names.has(raw.name)) at(`${key}.name`, `duplicate host name "${raw.name}"`)
        else names.add(raw.name)
        checkSsh(raw.ssh, `${key}.ssh`, true, at)
        checkPaths(raw.paths, `${key}.paths`, at)
      })
    }
  }
  const ref = (value: unknown, key: string) => {
    if (value === undefined || value === LOCAL_HOST_NAME) return
    if (typeof value !== 'string') return at(key, 'must be the name of a host in spec.hosts')
    if (names.has(value)) return
    const near = [...names].find((n) => editDistance(n, value) <= 2)
    at(key, `no host named ${value}${near ? ` (did you mean ${near}?)` : names.size ? ` (spec.hosts has ${[...names].join(', ')})` : '; declare it under spec.hosts'}`)
  }
  if (Array.isArray(spec.nodes)) spec.nodes.forEach((n, i) => isMap(n) && ref(n.host, `spec.nodes[${i}].host`))
  if (isMap(spec.database) && spec.database.host !== undefined) {
    if (spec.database.embedded === true) ref(spec.database.host, 'spec.database.host')
    else at('spec.database.host', 'only an embedded database runs on a host of the spec; a database given by url runs where the url says (remove host)')
  }
}

function checkPaths(raw: unknown, key: string, at: At): void {
  if (raw === undefined) return
  if (!isMap(raw)) return at(key, 'must be a mapping: {install, config, data} (absolute paths)')
  unknownKeys(raw, PATH_KEYS, key, at)
  for (const k of PATH_KEYS) {
    const v = raw[k]
    if (v !== undefined && (typeof v !== 'string' || !v.startsWith('/') || v === '/')) at(`${key}.${k}`, 'must be an absolute path below / (kctl writes only there on the host)')
  }
}

/** Host names of the spec's nodes as the port rule sees them: one machine per name. */
export const hostKey = (host: unknown): string => (typeof host === 'string' && host ? host : LOCAL_HOST_NAME)

/** The host `name` of a valid spec with `spec.ssh` merged in and paths defaulted; undefined for this machine or an unknown name. */
export function resolveHost(spec: {metadata: {name: string}; spec: {ssh?: SshDefaults; hosts?: HostSpec[]}}, name: string | undefined): ResolvedHost | undefined {
  if (!name || name === LOCAL_HOST_NAME) return undefined
  const h = spec.spec.hosts?.find((x) => x.name === name)
  if (!h) return undefined
  return {name: h.name, ssh: {...spec.spec.ssh, ...h.ssh}, paths: {...defaultHostPaths(spec.metadata.name), ...h.paths}}
}

const FILE_KEYS = ['identityFile', 'configFile', 'knownHostsFile'] as const

/**
 * Makes the file paths of `spec.ssh` and `spec.hosts[].ssh` that are relative (`./lab/ssh_config`)
 * absolute against `dir`, the spec file's folder, as a spec means them wherever kctl runs from;
 * `~/…` and absolute paths stay as they are. Changes `spec` in place.
 */
export function resolveSshPaths(spec: {spec: {ssh?: SshDefaults; hosts?: HostSpec[]}}, dir: string): void {
  for (const ssh of [spec.spec.ssh, ...(spec.spec.hosts ?? []).map((h) => h.ssh)]) {
    if (!ssh) continue
    for (const k of FILE_KEYS) {
      const v = ssh[k]
      if (typeof v === 'string' && v && v !== '~' && !v.startsWith('~/') && !isAbsolute(v)) ssh[k] = resolve(dir, v)
    }
  }
}
