/**
 * The registry of hosts: which Host a node (or the embedded database, `postgres`) runs on.
 * A node without `host` runs on this machine (LocalHost); a node on a host of `spec.hosts`
 * gets that host's implementation, once per host name and process (closeHosts ends them).
 *
 *   hostFor(state | spec, 'dp-1') ──▶ nodes[dp-1].host ──▶ absent / local ──▶ localHost
 *                                                      └─▶ spec.hosts[name] ──▶ remoteHost(def)
 */
import {registerCleanup} from '../../kit/cleanup.js'
import {UserError} from '../../kit/errors.js'
import {DATABASE_NODE, type ClusterSpec} from '../spec.js'
import {LOCAL_HOST_NAME, resolveHost, type ResolvedHost} from '../spec-hosts.js'
import {isRunning, type ClusterState} from '../state.js'
import type {Host} from './host.js'
import {localHost} from './local.js'
import {SshHost} from './ssh.js'

export type {Host} from './host.js'
export {localHost} from './local.js'

const opened = new Map<string, Host>()

/** The implementation for a host of the spec other than this machine: SSH, one master connection per host. */
export function remoteHost(def: ResolvedHost): Host {
  registerCleanup(closeHosts)
  return new SshHost(def.name, def.ssh)
}

const isSpec = (source: ClusterState | ClusterSpec): source is ClusterSpec => 'apiVersion' in source

/** The name of the host `nodeName` (or `postgres`) runs on: a name from `spec.hosts`, or `local`. */
export function hostNameOf(source: ClusterState | ClusterSpec, nodeName: string): string {
  if (isSpec(source)) {
    const db = source.spec.database
    const name = nodeName === DATABASE_NODE ? ('embedded' in db ? db.host : undefined) : source.spec.nodes.find((n) => n.name === nodeName)?.host
    return name ?? LOCAL_HOST_NAME
  }
  return (nodeName === DATABASE_NODE ? source.embedded?.host : source.nodes[nodeName]?.host) ?? LOCAL_HOST_NAME
}

/** The definition of a host of the spec or state (undefined for this machine). */
export function hostDefinition(source: ClusterState | ClusterSpec, name: string): ResolvedHost | undefined {
  if (name === LOCAL_HOST_NAME) return undefined
  return isSpec(source) ? resolveHost(source, name) : source.hosts?.[name]
}

/**
 * The Host that `nodeName` (or `postgres`, the embedded database) runs on.
 * @throws UserError HOST_UNAVAILABLE when it is on a host kctl cannot operate
 */
export function hostFor(source: ClusterState | ClusterSpec, nodeName: string): Host {
  const name = hostNameOf(source, nodeName)
  const host = hostNamed(name, hostDefinition(source, name))
  if (!host) throw unavailable(nodeName, name)
  return host
}

/** The host of this name (`local`: this machine; else from its definition), or undefined when kctl cannot operate it. */
export function hostNamed(name: string, def: ResolvedHost | undefined): Host | undefined {
  if (name === LOCAL_HOST_NAME) return localHost
  const cached = opened.get(name)
  if (cached) return cached
  const host = def && remoteHost(def)
  if (host) opened.set(name, host)
  return host
}

function unavailable(node: string, host: string, key?: string): UserError {
  const what = node === DATABASE_NODE ? 'The embedded database' : `Node ${node}`
  return new UserError('HOST_UNAVAILABLE', `${what} runs on host ${host}${key ? ` (${key})` : ''}, which spec.hosts does not define. Nothing was changed.`, {
    hint: `Add ${host} to spec.hosts (its ssh address or alias), or remove ${key ?? `\`host: ${host}\` from the spec`} to run it on this machine; \`kctl hosts\` lists the hosts of the spec and what runs on each.`,
  })
}

/**
 * Before anything changes: every host the spec places a node or the database on can be
 * operated. @throws UserError HOST_UNAVAILABLE naming the first node, its host and spec key
 */
export function checkHostsAvailable(spec: ClusterSpec): void {
  const db = spec.spec.database
  const placed = [
    ...('embedded' in db && db.host ? [{node: DATABASE_NODE, host: db.host, key: 'spec.database.host'}] : []),
    ...spec.spec.nodes.flatMap((n, i) => (n.host ? [{node: n.name, host: n.host, key: `spec.nodes[${i}].host`}] : [])),
  ]
  for (const p of placed) {
    if (p.host === LOCAL_HOST_NAME || opened.has(p.host)) continue
    const def = resolveHost(spec, p.host)
    const host = def && remoteHost(def)
    if (!host) throw unavailable(p.node, p.host, p.key)
    opened.set(p.host, host)
  }
}

/** Every host of the spec, this machine first, with its implementation. */
export function specHosts(spec: ClusterSpec): {name: string; def?: ResolvedHost; host?: Host}[] {
  const remote = (spec.spec.hosts ?? []).map((h) => {
    const def = resolveHost(spec, h.name)!
    const host = opened.get(h.name) ?? remoteHost(def)
    if (host) opened.set(h.name, host)
    return {name: h.name, def, host}
  })
  return [{name: LOCAL_HOST_NAME, host: localHost}, ...remote]
}

/** Ends what the hosts opened (SSH connections, forwards, tails). */
export async function closeHosts(): Promise<void> {
  const all = [localHost, ...opened.values()]
  opened.clear()
  await Promise.all(all.map((h) => h.close()))
}

/** Whether the recorded process of `name` (a node, or `postgres`) still runs on its host. */
export function processRunning(state: ClusterState, name: string): Promise<boolean> {
  const p = name === DATABASE_NODE ? state.embedded : state.nodes[name]
  return p ? isRunning(p, hostFor(state, name)) : Promise.resolve(false)
}

/**
 * A URL of a listener on `host` (`http://127.0.0.1:8007`) as this machine reaches it: the
 * same URL here; through the host's forward (Host.reach) for another machine.
 */
export async function reachUrl(host: Host, url: string | undefined): Promise<string | undefined> {
  if (!url || host.isLocal) return url
  const u = new URL(url)
  const to = await host.reach(u.hostname.replace(/^\[|\]$/g, ''), Number(u.port))
  return `${u.protocol}//${to.host.includes(':') ? `[${to.host}]` : to.host}:${to.port}`
}
