/** Launching one node within an up run: its kong.conf, the detached process, the record kept for undo and state. */
import {readFile} from 'node:fs/promises'
import {basename, dirname, join, relative} from 'node:path'
import {entryPath} from '../runtime/supervisor/entry.js'
import {clusterConfValues} from './certificates.js'
import {allFinished} from '../kit/in-batches.js'
import type {ProcessIdentity} from '../kit/process.js'
import {startNode} from './launcher.js'
import {chownTree, nodeBinaryIn, runtimeEntryIn} from './remote-install.js'
import {startUnit} from './systemd-unit.js'
import {writeNodeConf} from './node-conf.js'
import type {Host} from './hosts/host.js'
import {hostFor, hostNamed} from './hosts/index.js'
import {hostOf, type UpContext} from './phase.js'
import {runtimeEntryOf} from './runtime-install.js'
import {nodeExtraConf} from './spec-conf.js'
import type {ClusterSpec} from './spec.js'
import {LOCAL_HOST_NAME} from './spec-hosts.js'
import {recordProcess, writeState, type ClusterState, type NodeState} from './state.js'

/**
 * Writes the node's kong.conf, spawns it detached from its version's installed runtime
 * (written to `<prefix>/runtime.entry` too, so a reload or handover keeps that code) and
 * records it (for undo and for state).
 */
export async function launch(ctx: UpContext, node: NodeState): Promise<void> {
  const host = hostOf(ctx, node.name)
  await writeConfOf(ctx.spec, ctx.state, node)
  if (!host.isLocal && !ctx.state.installs?.[node.host!]) throw new Error(`bug: ${node.name} launched on host ${node.host} before kctl installed there`)
  // another host: the bundle kctl installed there (its own Node binary, runtime and packages),
  // of the version the node is on (`kctl upgrade` keeps the one it left beside it)
  const installed = host.isLocal ? undefined : ctx.state.installs![node.host!]
  if (installed) node.runtime ??= {version: installed.version}
  const install = installed && {...installed, version: node.runtime!.version, dir: join(dirname(installed.dir), node.runtime!.version)}
  const entry = install ? runtimeEntryIn(install.dir) : await runtimeEntryOf(host, ctx.stateDir, ctx.state, node)
  await host.writeFile(entryPath(node.prefix), `${entry}\n`)
  const paths = install && ctx.state.hosts![node.host!].paths
  let proc: ProcessIdentity
  if (install?.systemd) proc = await startUnit(host, paths!, ctx.state.name, node, install)
  else if (install) {
    // detached on another host: as the cluster's service user (as its unit would), never as
    // the SSH login; it reads its conf and keys and writes its prefix
    await chownTree(host, install, paths!.config)
    await chownTree(host, install, paths!.data)
    proc = await startNode(node, host, entry, nodeBinaryIn(install.dir), {user: install.user, uid: install.uid, gid: install.gid})
  } else proc = await startNode(node, host, entry)
  recordProcess(node, proc)
  node.intent = 'running'
  ctx.started.nodes.push(proc)
  ctx.report.info(`${node.name} started (pid ${node.pid}${host.isLocal ? '' : ` on ${host.name}`}), log ${host.isLocal ? join('nodes', node.name, 'logs', 'node.log') : node.logFile}`)
  await writeState(ctx.stateDir, ctx.state)
}

/**
 * Launches `nodes`: the nodes of one host one after the other, the hosts side by side (each
 * start is a few SSH runs and a wait for the process, so nine hosts need not take nine
 * times one). Nodes on this machine stay one at a time, in order. Every launch is let finish
 * (or fail) before a failure is reported, so the clean-up that follows knows every process
 * this run started.
 */
export async function launchAll(ctx: UpContext, nodes: NodeState[]): Promise<void> {
  const byHost = new Map<string, NodeState[]>()
  for (const n of nodes) {
    const key = n.host ?? LOCAL_HOST_NAME
    byHost.set(key, [...(byHost.get(key) ?? []), n])
  }
  await allFinished([...byHost.values()], async (group) => {
    for (const node of group) await launch(ctx, node)
  })
}

/** Writes the node's kong.conf from the cluster's state and the spec's `conf` (launch, reload). */
export async function writeConfOf(spec: ClusterSpec, state: ClusterState, node: NodeState): Promise<string> {
  const host = hostFor(state, node.name)
  const clustering = await placeCertificates(state, node, host, clusterConfValues(state, node, (name) => hostAddress(state, name)))
  const written = await writeNodeConf({cluster: state.name, node, connection: state.connection, clustering, extra: nodeExtraConf(spec.spec, node.name), host})
  await confToServiceUser(state, node, host)
  return written
}

/** On another host the node runs as the cluster's service user, which must read its kong.conf (0600). */
export async function confToServiceUser(state: ClusterState, node: NodeState, host: Host): Promise<void> {
  const install = host.isLocal ? undefined : state.installs?.[node.host!]
  if (install) await host.run('chown', [`${install.uid}:${install.gid}`, node.confPath])
}

/** The address other hosts reach host `name` at (undefined for this machine). */
function hostAddress(state: ClusterState, name: string): string | undefined {
  if (name === LOCAL_HOST_NAME) return undefined
  const def = state.hosts?.[name]
  return def ? hostNamed(name, def)?.address ?? def.ssh.address ?? def.ssh.host : undefined
}

const CERT_KEYS = ['cluster_cert', 'cluster_cert_key', 'cluster_ca_cert', 'kctl_cluster_pinned_certs'] as const

/** Where a node's certificate files go on its host: `<config>/certs/`. */
export const hostCertsDir = (state: ClusterState, node: NodeState): string => join(state.hosts![node.host!].paths.config, 'certs')

/**
 * On another host, the node's certificate files go to `<config>/certs/` there (keys 0600,
 * owned by the service user its nodes run as), sent only when they differ, and its kong.conf
 * names those copies. kctl's own files keep their place below the cluster's certs folder (a
 * rotation's new ones in `next/`, the trust bundle beside them); a file of the user's goes by
 * its name.
 */
async function placeCertificates(state: ClusterState, node: NodeState, host: Host, values: Record<string, string>): Promise<Record<string, string>> {
  if (host.isLocal) return values
  const dir = hostCertsDir(state, node)
  const ours = state.certificates?.generated ? dirname(state.certificates.cert) : undefined
  const install = state.installs?.[node.host!]
  const out = {...values}
  for (const k of CERT_KEYS) {
    if (!values[k]) continue
    const data = await readFile(values[k])
    const rel = ours && values[k].startsWith(`${ours}/`) ? relative(ours, values[k]) : basename(values[k])
    const dest = join(dir, rel)
    if (!(await host.readFile(dest))?.equals(data)) {
      await host.writeFile(dest, data, {mode: k === 'cluster_cert_key' ? 0o600 : 0o644})
      if (install) await host.run('chown', [`${install.uid}:${install.gid}`, dest, dirname(dest)])
    }
    out[k] = dest
  }
  return out
}
