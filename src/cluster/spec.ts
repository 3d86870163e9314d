/**
 * The cluster spec (`kctl.yaml`), the source of truth for topology. Parsing collects every
 * problem with the key that has it (`spec.nodes[0].proxy_listen: …`) before failing.
 */
import {readFile} from 'node:fs/promises'
import {dirname, resolve} from 'node:path'
import {parse} from 'yaml'
import {UserError} from '../kit/errors.js'
import {parseListen} from './listen.js'
import {checkConf, type ConfSpec} from './spec-conf.js'
import {checkHosts, resolveSshPaths, type HostSpec, type SshDefaults} from './spec-hosts.js'
import {checkCertificates, checkModeRoles, checkPortClashes, MODES, MTLS_MODES, type Mode} from './spec-rules.js'

export {MODES, type Mode} from './spec-rules.js'
export const ROLES = ['traditional', 'control_plane', 'data_plane'] as const
export type Role = (typeof ROLES)[number]
export const LISTEN_KEYS = ['proxy_listen', 'admin_listen', 'status_listen', 'cluster_listen'] as const
export type ListenKey = (typeof LISTEN_KEYS)[number]

/** The name `kctl nodes`/`logs`/`start` use for the embedded database. */
export const DATABASE_NODE = 'postgres'

export interface NodeSpec {
  name: string
  role: Role
  /** A name from `spec.hosts` (`local` or absent: this machine). */
  host?: string
  proxy_listen?: string
  admin_listen?: string
  status_listen?: string
  cluster_listen?: string
  /** Extra Kong configuration for this node, over `spec.conf` (see spec-conf.ts). */
  conf?: ConfSpec
}

/** `host`: where the embedded database runs (a name from `spec.hosts`; absent: this machine). */
export type DatabaseSpec = {embedded: true; port?: number; host?: string} | {url: string}

export {MTLS_MODES}
export type MtlsMode = (typeof MTLS_MODES)[number]

/** Hybrid mode's cluster certificates. */
export interface CertificatesSpec {
  mtls?: MtlsMode
  /** Validity of generated certificates (default 1095). */
  days?: number
  /** Shared mode: use this certificate and key (paths relative to the spec) instead of generating. */
  cert?: string
  key?: string
}

export interface ClusterSpec {
  apiVersion: 'kctl/v1'
  kind: 'Cluster'
  metadata: {name: string}
  spec: {
    mode: Mode
    database: DatabaseSpec
    certificates?: CertificatesSpec
    /** Extra Kong configuration for every node (see spec-conf.ts). */
    conf?: ConfSpec
    /** The machines nodes run on, besides this one (see spec-hosts.ts). */
    hosts?: HostSpec[]
    /** SSH values common to every host. */
    ssh?: SshDefaults
    nodes: NodeSpec[]
  }
}

/** Kong's default listeners (the CP's cluster listener included). */
export const DEFAULT_LISTEN: Record<ListenKey, string> = {
  proxy_listen: '0.0.0.0:8000, 0.0.0.0:8443 ssl',
  admin_listen: '127.0.0.1:8001',
  status_listen: '127.0.0.1:8007',
  cluster_listen: '0.0.0.0:8005',
}

/** Which listeners each role has: a CP has no proxy, a DP no Admin API, only a CP a cluster listener. */
export const ROLE_LISTENERS: Record<Role, readonly ListenKey[]> = {
  traditional: ['proxy_listen', 'admin_listen', 'status_listen'],
  control_plane: ['admin_listen', 'cluster_listen', 'status_listen'],
  data_plane: ['proxy_listen', 'status_listen'],
}

/** Cluster and node names: lowercase letters, digits and dashes, as a DNS label. */
export const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/

/** Reads and validates a spec file. @throws UserError SPEC_NOT_FOUND / SPEC_INVALID */
export async function loadSpec(file: string): Promise<ClusterSpec> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch {
    throw new UserError('SPEC_NOT_FOUND', `No cluster spec at ${file}.`, {hint: 'Run `kctl init` to create one, or pass --spec FILE.'})
  }
  let doc: unknown
  try {
    doc = parse(text)
  } catch (err) {
    throw new UserError('SPEC_INVALID', `${file} is not valid YAML: ${(err as Error).message}`)
  }
  const spec = validateSpec(doc, file)
  // ssh files named relative to the spec are found from any working folder
  resolveSshPaths(spec, dirname(resolve(file)))
  return spec
}

/** Validates a parsed document. @throws UserError SPEC_INVALID listing every problem. */
export function validateSpec(doc: unknown, file = 'kctl.yaml'): ClusterSpec {
  const problems: string[] = []
  const at = (key: string, msg: string) => problems.push(`${key}: ${msg}`)
  const d = obj(doc)
  if (d.apiVersion !== 'kctl/v1') at('apiVersion', `must be "kctl/v1"`)
  if (d.kind !== 'Cluster') at('kind', `must be "Cluster"`)
  const name = obj(d.metadata).name
  if (typeof name !== 'string' || !NAME_RE.test(name)) at('metadata.name', 'required: lowercase letters, digits and dashes')
  const spec = obj(d.spec)
  if (!MODES.includes(spec.mode as Mode)) at('spec.mode', `must be one of ${MODES.join(', ')}`)
  checkDatabase(obj(spec.database), at)
  if (!Array.isArray(spec.nodes) || spec.nodes.length === 0) at('spec.nodes', 'at least one node is required')
  else {
    checkNodes(spec.nodes, at)
    if (MODES.includes(spec.mode as Mode)) checkModeRoles(spec.mode as Mode, spec.nodes.map(obj), at)
    checkPortClashes(spec.nodes.map(obj), at, {roles: ROLE_LISTENERS, defaults: DEFAULT_LISTEN})
  }
  checkHosts(spec, at)
  checkCertificates(spec.mode, spec.certificates, at)
  checkConf(spec.conf, 'spec.conf', 'spec.nodes[i]', at)
  if (problems.length > 0) {
    throw new UserError('SPEC_INVALID', `${file} is invalid:\n  ${problems.join('\n  ')}`, {hint: `Fix ${file} and run the command again.`})
  }
  return doc as ClusterSpec
}

function checkDatabase(db: Record<string, unknown>, at: (k: string, m: string) => void): void {
  if (db.embedded === true) {
    if (db.port !== undefined && !(Number.isInteger(db.port) && (db.port as number) > 0 && (db.port as number) < 65536)) at('spec.database.port', 'must be a port number')
  } else if (typeof db.url === 'string') {
    if (!/^postgres(ql)?:\/\//.test(db.url)) at('spec.database.url', 'must be a postgres:// URL')
  } else at('spec.database', 'must be {embedded: true} or {url: postgres://…}')
}

function checkNodes(nodes: unknown[], at: (k: string, m: string) => void): void {
  const seen = new Set<string>()
  nodes.forEach((raw, i) => {
    const n = obj(raw)
    const key = `spec.nodes[${i}]`
    if (typeof n.name !== 'string' || !NAME_RE.test(n.name)) at(`${key}.name`, 'required: lowercase letters, digits and dashes')
    else if (n.name === DATABASE_NODE) at(`${key}.name`, `"${DATABASE_NODE}" is reserved for the embedded database`)
    else if (seen.has(n.name)) at(`${key}.name`, `duplicate node name "${n.name}"`)
    else seen.add(n.name)
    const role = ROLES.includes(n.role as Role) ? (n.role as Role) : undefined
    if (!role) at(`${key}.role`, `must be one of ${ROLES.join(', ')}`)
    for (const k of LISTEN_KEYS) {
      if (n[k] === undefined) continue
      if (role && !ROLE_LISTENERS[role].includes(k)) {
        at(`${key}.${k}`, `a ${role} node has no ${k.replace('_listen', '')} listener; remove the key`)
        continue
      }
      const parsed = typeof n[k] === 'string' ? parseListen(n[k] as string) : 'must be a string'
      if (typeof parsed === 'string') at(`${key}.${k}`, parsed)
    }
    checkConf(n.conf, `${key}.conf`, key, at)
  })
}

export function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {}
}

/** A node's listen value: the spec's, else Kong's default; undefined when its role has no such listener. */
export function nodeListen(node: NodeSpec, key: ListenKey): string | undefined {
  if (!ROLE_LISTENERS[node.role].includes(key)) return undefined
  return node[key] ?? DEFAULT_LISTEN[key]
}
