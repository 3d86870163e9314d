/** The `--nodes` list of `kctl gen-cert --mtls pki`: which certificates to issue, with which SANs. */
import {UserError} from '../kit/errors.js'

export interface PkiNode {
  name: string
  role: 'control_plane' | 'data_plane'
  /** CPs serve the cluster listener; DPs connect to it as clients. */
  usage: 'server' | 'client'
  sans: string[]
}

/** Matches `kctl init --mode hybrid`'s default topology. */
export const DEFAULT_PKI_NODES = ['cp-1:cp', 'dp-1:dp', 'dp-2:dp']

const ROLES: Record<string, PkiNode['role']> = {cp: 'control_plane', control_plane: 'control_plane', dp: 'data_plane', data_plane: 'data_plane'}

/** Node names become file names (`<name>.crt`), so they stay plain. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/

/**
 * Parses `NAME:ROLE` entries (each may itself be comma-separated, as env vars give them).
 * Every certificate gets the node name, localhost, 127.0.0.1 and ::1 as SANs, plus `extraSans`.
 * @throws UserError USAGE naming the bad entry.
 */
export function parseNodeList(entries: string[] | undefined, extraSans: string[]): PkiNode[] {
  const items = (entries ?? DEFAULT_PKI_NODES).flatMap((e) => e.split(',')).map((e) => e.trim()).filter(Boolean)
  if (items.length === 0) throw usage('--nodes is empty.')
  const extra = extraSans.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean)
  const seen = new Set<string>()
  return items.map((item) => {
    const [name = '', roleText = '', ...rest] = item.split(':')
    const role = ROLES[roleText.toLowerCase()]
    if (!NAME.test(name) || !role || rest.length > 0) throw usage(`--nodes: "${item}" is not NAME:ROLE (ROLE is cp or dp; names use letters, digits, '.', '_' and '-').`)
    if (name === 'ca') throw usage('--nodes: "ca" is taken by the CA\'s own files (ca.crt, ca.key); pick another node name.')
    if (seen.has(name)) throw usage(`--nodes: ${name} appears twice.`)
    seen.add(name)
    const sans = [...new Set([name, 'localhost', '127.0.0.1', '::1', ...extra])]
    return {name, role, usage: role === 'control_plane' ? 'server' : 'client', sans}
  })
}

function usage(message: string): UserError {
  return new UserError('USAGE', message, {hint: 'Example: --nodes cp-1:cp,dp-1:dp,dp-2:dp'})
}
