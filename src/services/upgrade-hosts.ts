/**
 * Where `kctl upgrade` puts a runtime version, per node:
 *
 *   a node here             <cluster state dir>/runtime/<version>/   (runtime-install.ts)
 *   a node on another host  <install>/<version>/ on that host          (remote-install.ts: the
 *                           bundle with its own Node binary, beside the version it replaces;
 *                           `current` and the state's install record follow the nodes)
 *
 * A bundle on another host is released (its cluster marker removed, the folder when no
 * cluster uses it) once no node of the cluster runs it or can roll back to it and the
 * embedded database does not run from it.
 */
import {dirname, join} from 'node:path'
import type {Reporter} from '../kit/output.js'
import type {Host} from '../cluster/hosts/host.js'
import {hostFor, hostNamed} from '../cluster/hosts/index.js'
import {DATABASE_NODE} from '../cluster/spec.js'
import type {PgConnection} from '../cluster/postgres.js'
import {localHost} from '../cluster/hosts/local.js'
import {installOn, releaseBundle, switchCurrent, type HostInstall} from '../cluster/remote-install.js'
import {installDir, installRuntime, type RuntimeSource} from '../cluster/runtime-install.js'
import {shellQuote} from '../cluster/hosts/ssh-options.js'
import {renderUnit, UNIT_DIR, unitName} from '../cluster/systemd-unit.js'
import {writeState, type NodeState} from '../cluster/state.js'
import type {LoadedCluster} from './cluster.js'

/** The other host `node` runs on and what kctl installed there, or undefined for this machine. */
export function remoteOf(c: LoadedCluster, node: NodeState): {name: string; host: Host; install: HostInstall; root: string} | undefined {
  const install = node.host ? c.state.installs?.[node.host] : undefined
  const host = install && hostNamed(node.host!, c.state.hosts?.[node.host!])
  if (!install || !host || host.isLocal) return undefined
  return {name: node.host!, host, install, root: dirname(install.dir)}
}

/** The folder of `version`'s runtime for `node`, on its host. */
export function versionDir(c: LoadedCluster, node: NodeState, version: string): string {
  const remote = remoteOf(c, node)
  return remote ? join(remote.root, version) : installDir(c.stateDir, version)
}

/**
 * Installs `source` wherever one of `nodes` runs: here once, and on each other host beside
 * the bundle there (only what differs is sent). Each host's install record then names the
 * new version, with the one it replaces as `previous`.
 */
export async function installEverywhere(c: LoadedCluster, nodes: NodeState[], source: RuntimeSource, report: Reporter): Promise<void> {
  if (nodes.some((n) => !remoteOf(c, n))) {
    const {dir, installed} = await installRuntime(localHost, c.stateDir, source)
    report.info(installed ? `installed in ${dir}` : `already installed in ${dir}`)
  }
  const hosts = new Map(nodes.flatMap((n) => {
    const r = remoteOf(c, n)
    return r ? [[r.name, r] as const] : []
  }))
  // every host at once, as init does: each is its own connection
  const installed = await Promise.all([...hosts].map(async ([name, r]) => ({name, r, done: await installOn(r.host, c.state.hosts![name].paths, c.state.name, {postgres: false, previous: r.install, source})})))
  for (const {name, r, done} of installed) {
    report.info(`${name}: ${done.bytesSent ? `sent ${(done.bytesSent / (1 << 20)).toFixed(1)} MB` : 'nothing to send'} (${done.install.dir})`)
    const previous = r.install.version === source.version ? r.install.previous : r.install.version
    c.state.installs![name] = {...done.install, postgres: r.install.postgres, ...(previous ? {previous} : {})}
    await writeState(c.stateDir, c.state)
  }
}

/**
 * A node on another host now on `to`: its unit (systemd) starts that version from now on.
 * Also brings a unit written by an older kctl up to date; one already so is left alone.
 */
export async function pointUnitAt(c: LoadedCluster, node: NodeState, to: string): Promise<void> {
  const remote = remoteOf(c, node)
  if (!remote?.install.systemd) return
  const install = {...remote.install, dir: join(remote.root, to)}
  const file = `${UNIT_DIR}/${unitName(c.state.name, node.name)}`
  const text = renderUnit({cluster: c.state.name, node, install})
  if ((await remote.host.readFile(file).catch(() => undefined))?.toString('utf8') === text) return
  await remote.host.writeFile(file, text, {mode: 0o644})
  await remote.host.run('systemctl', ['daemon-reload'])
}

/** Before a rolling restart: the node's unit as this kctl writes it, on the version the node runs. */
export async function refreshUnit(c: LoadedCluster, node: NodeState): Promise<void> {
  const remote = remoteOf(c, node)
  if (remote?.install.systemd) await pointUnitAt(c, node, node.runtime?.version ?? remote.install.version)
}

/**
 * After the moves: each other host's record and `current` name the version its nodes run
 * (the one they left as `previous`), and bundles of this cluster nothing needs are released.
 */
export async function settleHosts(c: LoadedCluster, moved: {node: NodeState; from: string | undefined; to: string}[]): Promise<void> {
  const hosts = new Set(moved.flatMap((m) => (remoteOf(c, m.node) ? [m.node.host!] : [])))
  for (const name of hosts) {
    const r = remoteOf(c, moved.find((m) => m.node.host === name)!.node)!
    const mine = Object.values(c.state.nodes).filter((n) => n.host === name && n.runtime)
    const last = moved.filter((m) => m.node.host === name).at(-1)!
    const previous = last.from && last.from !== last.to ? last.from : r.install.previous
    c.state.installs![name] = {...r.install, version: last.to, dir: join(r.root, last.to), ...(previous ? {previous} : {})}
    await switchCurrent(r.host, r.root, last.to)
    await writeState(c.stateDir, c.state)
    const keep = new Set([last.to, previous, ...mine.flatMap((n) => [n.runtime!.version, n.runtime!.previous])])
    const emb = c.state.embedded
    if (emb?.host === name) keep.add(emb.instance.binaries?.version)
    for (const v of await bundlesOf(r.host, r.root, c.state.name)) if (!keep.has(v)) await releaseBundle(r.host, r.root, c.state.name, v)
  }
}

/** The versions under `root` on `host` that carry `cluster`'s marker (the `current` link is none). */
async function bundlesOf(host: Host, root: string, cluster: string): Promise<string[]> {
  const q = shellQuote
  const out = await host.run('sh', ['-c', `cd -- ${q(root)} 2>/dev/null || exit 0; for d in */; do [ -L "\${d%/}" ] && continue; [ -e "$d.clusters/"${q(cluster)} ] && printf '%s\\n' "\${d%/}"; done; true`])
  return out.stdout.split('\n').filter(Boolean)
}

/** The database connection as this machine reaches it (over the database host's SSH connection when it is another host). */
export async function reachableDatabase(c: LoadedCluster): Promise<PgConnection> {
  const conn = c.state.connection
  if (!c.state.embedded) return conn
  const to = await hostFor(c.state, DATABASE_NODE).reach(conn.host, conn.port)
  return {...conn, host: to.host, port: to.port}
}
