/**
 * Once the database and the control planes are up: from every node on another host, a real
 * TCP connection to what it needs (host-checks.ts opens it there) — the database for
 * traditional nodes and control planes, a control plane's cluster port for data planes.
 * `kctl init` runs it before it starts the nodes that need them (phases.ts, phases-hybrid.ts),
 * so a firewall between hosts is named with what to do instead of a node that never syncs.
 */
import {UserError} from '../kit/errors.js'
import {checkConnectivity, isLocalName, reachableAddress, type ConnectivityTarget, type HostCheck} from './host-checks.js'
import type {Host} from './hosts/host.js'
import {hostFor} from './hosts/index.js'
import {parseListen} from './listen.js'
import type {ClusterState} from './state.js'

export interface ConnectivityOptions {
  /** Only these nodes (default: every node on another host). */
  nodes?: string[]
  /**
   * The control planes' cluster addresses as data planes are configured with them
   * (`host:port`); default: each control plane's cluster_listen on its host's address.
   */
  controlPlanes?: {name: string; address: string; port: number}[]
  /** What the error's hint says after "Fix the network between the hosts" (default: run `kctl init` again, what is up stays up). */
  then?: string
}

/**
 * From every node on another host, a real TCP connection to what it needs: the database
 * (traditional nodes and control planes) or a control plane's cluster port (data planes).
 * Call it once those are up.
 * @throws UserError CONNECTIVITY_FAILED naming each node, its host, the address and what to do
 */
export async function checkClusterConnectivity(state: ClusterState, options: ConnectivityOptions = {}): Promise<HostCheck[]> {
  const targets = connectivityTargets(state, options)
  const checks = await checkConnectivity(targets, (t, why) =>
    t.what === 'the database'
      ? `Let ${t.from.name} (${t.from.address}) reach ${t.address}:${t.port}: check the database host's firewall and that Postgres listens on that address${/refused/i.test(why) ? ' (nothing listens there)' : ''}, and that its pg_hba allows ${t.from.address}.`
      : `Let ${t.from.name} (${t.from.address}) reach ${t.address}:${t.port}: open that port in the firewall between them, and check that the control plane's cluster_listen is not bound to loopback only.`,
  )
  const failed = checks.filter((c) => !c.ok)
  if (failed.length) {
    throw new UserError('CONNECTIVITY_FAILED', `${failed.length === 1 ? 'A node' : `${failed.length} nodes`} cannot reach what ${failed.length === 1 ? 'it needs' : 'they need'}:\n${failed.map((c) => `  ${c.host} connectivity: ${c.found}.\n    ${c.fix}`).join('\n')}`, {
      hint: `Fix the network between the hosts, then ${options.then ?? 'run `kctl init` again: what is already up stays up.'}`,
      details: {failed},
    })
  }
  return checks
}

/** Which connections the nodes on other hosts need (see checkClusterConnectivity). */
export function connectivityTargets(state: ClusterState, options: ConnectivityOptions = {}): ConnectivityTarget[] {
  const nodes = Object.entries(state.nodes).filter(([name, n]) => !isLocalName(n.host) && (!options.nodes || options.nodes.includes(name)))
  const cps = options.controlPlanes ?? controlPlanesOf(state)
  const out: ConnectivityTarget[] = []
  for (const [name, n] of nodes) {
    const from = hostFor(state, name)
    if (n.role === 'data_plane') {
      for (const cp of cps) out.push({from, node: name, address: cp.address, port: cp.port, what: `the cluster port of ${cp.name}`})
    } else {
      out.push({from, node: name, address: state.connection.host, port: state.connection.port, what: 'the database'})
    }
  }
  return out
}

export function controlPlanesOf(state: ClusterState): {name: string; address: string; port: number}[] {
  return Object.entries(state.nodes).flatMap(([name, n]) => {
    if (n.role !== 'control_plane' || !n.listen.cluster) return []
    const parsed = parseListen(n.listen.cluster)
    if (typeof parsed === 'string' || !parsed[0]) return []
    const host: Host = hostFor(state, name)
    return [{name, address: reachableAddress(parsed[0].host, host), port: parsed[0].port}]
  })
}
