/**
 * Spec rules that look at the whole spec rather than one key: which roles a mode allows,
 * the certificates block, and two nodes of one host wanting the same port. Each
 * problem is reported with the key that has it, through `at`.
 */
import {parseListen} from './listen.js'
import {hostKey} from './spec-hosts.js'

export const MODES = ['embedded', 'distributed', 'hybrid'] as const
export type Mode = (typeof MODES)[number]
export const MTLS_MODES = ['shared', 'pki'] as const

type At = (key: string, message: string) => void
type RawNode = Record<string, unknown>

/**
 * embedded: exactly one traditional node. distributed: one or more, all traditional.
 * hybrid: at least one control_plane and one data_plane, nothing else.
 */
export function checkModeRoles(mode: Mode, nodes: RawNode[], at: At): void {
  const count = (role: string) => nodes.filter((n) => n.role === role).length
  const others = (allowed: string[]) => nodes.forEach((n, i) => {
    if (typeof n.role === 'string' && !allowed.includes(n.role)) at(`spec.nodes[${i}].role`, `mode ${mode} allows only ${allowed.join(' and ')} nodes, not ${n.role}`)
  })
  if (mode === 'embedded') {
    if (nodes.length !== 1) at('spec.nodes', `mode embedded runs exactly one traditional node (found ${nodes.length}); use mode distributed for several`)
    others(['traditional'])
  } else if (mode === 'distributed') {
    others(['traditional'])
  } else {
    others(['control_plane', 'data_plane'])
    if (count('control_plane') === 0) at('spec.nodes', 'mode hybrid needs at least one node with role control_plane')
    if (count('data_plane') === 0) at('spec.nodes', 'mode hybrid needs at least one node with role data_plane')
  }
}

/** `spec.certificates`: hybrid only; mtls shared|pki; days ≥ 1; cert and key both or neither (shared only). */
export function checkCertificates(mode: unknown, raw: unknown, at: At): void {
  if (raw === undefined) return
  if (mode !== 'hybrid') return at('spec.certificates', 'only mode hybrid uses certificates; remove the key')
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return at('spec.certificates', 'must be a mapping, e.g. {mtls: shared, days: 1095}')
  const c = raw as Record<string, unknown>
  if (c.mtls !== undefined && !MTLS_MODES.includes(c.mtls as 'shared')) at('spec.certificates.mtls', `must be one of ${MTLS_MODES.join(', ')}`)
  if (c.days !== undefined && !(Number.isInteger(c.days) && (c.days as number) >= 1)) at('spec.certificates.days', 'must be a whole number of days, at least 1')
  for (const k of ['cert', 'key'] as const) if (c[k] !== undefined && (typeof c[k] !== 'string' || !c[k])) at(`spec.certificates.${k}`, 'must be a file path')
  if ((c.cert === undefined) !== (c.key === undefined)) at(`spec.certificates.${c.cert === undefined ? 'cert' : 'key'}`, 'cert and key go together: set both or neither')
  if (c.cert !== undefined && c.mtls === 'pki') at('spec.certificates.cert', 'a given certificate is for mtls shared; in pki mode kctl issues a CA and one certificate per node')
}

const LISTENERS = ['proxy_listen', 'admin_listen', 'status_listen', 'cluster_listen']

/**
 * No two listeners of nodes on one host may share a port (nodes on different hosts may: each
 * DP keeps Kong's :8000 on its own machine). A listener the spec leaves out is Kong's
 * default (`defaults`) for the listeners the node's role has (`roles`), so two nodes of one
 * host that both leave out `status_listen` clash on 8007, before anything starts.
 */
export function checkPortClashes(nodes: RawNode[], at: At, listeners: {roles: Record<string, readonly string[]>; defaults: Record<string, string>}): void {
  const owners = new Map<string, Map<number, string>>()
  nodes.forEach((n, i) => {
    const host = hostKey(n.host)
    const owner = owners.get(host) ?? new Map<number, string>()
    owners.set(host, owner)
    const keys = typeof n.role === 'string' && listeners.roles[n.role] ? listeners.roles[n.role] : LISTENERS
    for (const k of keys) {
      const explicit = typeof n[k] === 'string'
      if (!explicit && (n[k] !== undefined || !listeners.roles[n.role as string])) continue
      const parsed = parseListen(explicit ? (n[k] as string) : listeners.defaults[k])
      if (typeof parsed === 'string') continue
      for (const a of parsed) {
        const key = `spec.nodes[${i}].${k}${explicit ? '' : ` (not set: Kong's default ${a.port})`}`
        const first = owner.get(a.port)
        if (first && !first.startsWith(`spec.nodes[${i}].`)) at(key, `port ${a.port} is also used by ${first}${host === 'local' ? '' : ` on host ${host}`}; give one of them another port`)
        else if (!first) owner.set(a.port, key)
      }
    }
  })
}
