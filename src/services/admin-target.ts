/**
 * Which Admin API a declarative command talks to: `--admin-url` / KCTL_ADMIN_URL, else
 * the cluster in ./kctl.yaml (or --spec): its traditional or control-plane node.
 */
import {UserError} from '../kit/errors.js'
import {hostFor, reachUrl} from '../cluster/hosts/index.js'
import {loadCluster} from './cluster.js'
import {openGateway, type Gateway} from '../declarative/admin-client.js'

export interface AdminTarget {
  /** Explicit URL (flag or KCTL_ADMIN_URL). */
  adminUrl?: string
  specPath?: string
  stateRoot: string
}

export async function resolveAdminUrl(t: AdminTarget): Promise<string> {
  if (t.adminUrl) return t.adminUrl.replace(/\/+$/, '')
  const {state} = await loadCluster({specPath: t.specPath, stateRoot: t.stateRoot})
  const node = Object.values(state.nodes).find((n) => (n.role === 'traditional' || n.role === 'control_plane') && n.listen.admin)
  if (!node?.listen.admin) {
    throw new UserError('CLUSTER_NOT_FOUND', `Cluster ${state.name} has no node with an Admin API.`, {hint: 'Pass --admin-url http://HOST:8001.'})
  }
  // a control plane on another host: through a port forwarded over its SSH connection
  return (await reachUrl(hostFor(state, node.name), listenToUrl(node.listen.admin)))!
}

/** The Admin API to talk to, checked to be one. @throws NotAGateway, AdminUnreachable */
export async function resolveGateway(t: AdminTarget): Promise<Gateway> {
  return openGateway(await resolveAdminUrl(t))
}

/** `0.0.0.0:8001 ssl` → `https://127.0.0.1:8001`. */
export function listenToUrl(listen: string): string {
  const [addr, ...opts] = listen.split(',')[0].trim().split(/\s+/)
  const i = addr.lastIndexOf(':')
  let host = addr.slice(0, i)
  if (host === '0.0.0.0' || host === '*' || host === '') host = '127.0.0.1'
  if (host === '[::]') host = '[::1]'
  return `${opts.includes('ssl') ? 'https' : 'http'}://${host}:${addr.slice(i + 1)}`
}
