/** From spec to state: the node records the launcher needs, derived from the spec each time. */
import {join} from 'node:path'
import {certificatesState} from './certificates.js'
import {nodeListen, type ClusterSpec, type NodeSpec} from './spec.js'
import {LOCAL_HOST_NAME, resolveHost, type ResolvedHost} from './spec-hosts.js'
import type {ClusterState, NodeState} from './state.js'

/**
 * A node's record for this spec, keeping its process and intent from `previous`. On this
 * machine everything is under `<stateDir>/nodes/<name>`; on another host the prefix (data,
 * logs) is `<data>/nodes/<name>` and kong.conf `<config>/nodes/<name>/kong.conf`.
 */
export function nodeState(stateDir: string, node: NodeSpec, previous?: NodeState, hosts: Record<string, ResolvedHost> = {}): NodeState {
  // A node moved to another host in the spec moves once stopped: until then its process is where it ran.
  const host = previous?.pid ? previous.host ?? LOCAL_HOST_NAME : node.host ?? LOCAL_HOST_NAME
  const paths = hosts[host]?.paths
  const prefix = paths ? join(paths.data, 'nodes', node.name) : join(stateDir, 'nodes', node.name)
  return {
    name: node.name,
    role: node.role,
    host,
    prefix,
    confPath: paths ? join(paths.config, 'nodes', node.name, 'kong.conf') : join(prefix, 'kong.conf'),
    logFile: join(prefix, 'logs', 'node.log'),
    pid: previous?.pid,
    process: previous?.process,
    intent: previous?.intent ?? 'stopped',
    ...(previous?.runtime ? {runtime: previous.runtime} : {}),
    listen: {
      proxy: nodeListen(node, 'proxy_listen'),
      admin: nodeListen(node, 'admin_listen'),
      status: nodeListen(node, 'status_listen'),
      cluster: nodeListen(node, 'cluster_listen'),
    },
  }
}

/**
 * Node records follow the spec (listen changes apply on the next start); nodes removed from
 * the spec are kept while they still have a pid, so `stop` can still reach them. The
 * certificate paths and the hosts follow the spec too (a host still running a kept node
 * stays recorded).
 */
export function syncNodes(state: ClusterState, spec: ClusterSpec, stateDir: string): void {
  state.certificates = certificatesState(spec, state.specPath, stateDir)
  const hosts: Record<string, ResolvedHost> = {}
  for (const h of spec.spec.hosts ?? []) hosts[h.name] = resolveHost(spec, h.name)!
  for (const n of Object.values(state.nodes)) if (n.pid && n.host && !hosts[n.host] && state.hosts?.[n.host]) hosts[n.host] = state.hosts[n.host]
  if (Object.keys(hosts).length) state.hosts = hosts
  else delete state.hosts
  const db = spec.spec.database
  if (state.embedded && !state.embedded.pid) state.embedded.host = ('embedded' in db ? db.host : undefined) ?? LOCAL_HOST_NAME
  else if (state.embedded) state.embedded.host ??= LOCAL_HOST_NAME
  const next: Record<string, NodeState> = {}
  for (const n of spec.spec.nodes) next[n.name] = nodeState(stateDir, n, state.nodes[n.name], hosts)
  for (const [name, old] of Object.entries(state.nodes)) if (!next[name] && old.pid) next[name] = old
  state.nodes = next
}

/** Index of a node in spec.nodes, for messages that name the key (`spec.nodes[0].proxy_listen`). */
export function specIndex(spec: ClusterSpec, name: string): number {
  return spec.spec.nodes.findIndex((n) => n.name === name)
}
