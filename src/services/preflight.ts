/**
 * Preflight: the checks of src/cluster/host-checks.ts on every host of a spec, in parallel
 * (at most PARALLEL_HOSTS at once), before anything is installed or started.
 *
 *   kctl preflight      every host of the spec (this machine: its ports), a report
 *   kctl init           the other hosts the spec places something on; any failure stops it
 *                       before it changes anything on any host (preflightError)
 *   checkClusterConnectivity(state)   once the database / control planes are up: from every
 *                       node host, a TCP connection to the database or the CP's cluster port
 */
import {existsSync} from 'node:fs'
import {basename} from 'node:path'
import {UserError} from '../kit/errors.js'
import {clusterDir} from '../kit/paths.js'
import {bundleVersion} from '../cluster/remote-install.js'
import {checkHost, INSTALL_BYTES, isLocalName, listenPorts, POSTGRES_INSTALL_BYTES, type HostCheck, type PlannedPort} from '../cluster/host-checks.js'
import {hostNamed, processRunning} from '../cluster/hosts/index.js'
import {DATABASE_NODE, LISTEN_KEYS, loadSpec, nodeListen, type ClusterSpec} from '../cluster/spec.js'
import {LOCAL_HOST_NAME, resolveHost} from '../cluster/spec-hosts.js'
import {readState, type ClusterState} from '../cluster/state.js'
import {inBatches} from '../kit/in-batches.js'
import {specPathOf, type ClusterRef} from './cluster.js'

export type {HostCheck} from '../cluster/host-checks.js'

/** Hosts checked at once. */
export const PARALLEL_HOSTS = 16

/** The JSON contract of `kctl preflight --json`. */
export interface PreflightResult {
  cluster: string
  /** True when every check of every host passed. */
  ok: boolean
  hosts: {name: string; address: string; local: boolean; ok: boolean; checks: HostCheck[]}[]
}

export interface PreflightSpecOptions {
  /** The cluster's state when it exists: ports of its running nodes (and database) are theirs, not checked. */
  state?: ClusterState
  /** `placed` (init): only the other hosts the spec puts a node or the database on. `all` (default): every host, this machine first. */
  hosts?: 'placed' | 'all'
}

/** `kctl preflight`: every check on every host of the spec. */
export async function preflight(options: ClusterRef): Promise<PreflightResult> {
  const specPath = specPathOf(options)
  if (!existsSync(specPath)) throw new UserError('SPEC_NOT_FOUND', `No cluster spec at ${specPath}.`, {hint: 'Run `kctl init` to create one, or pass --spec FILE.'})
  const spec = await loadSpec(specPath)
  const state = await readState(clusterDir(options.stateRoot, spec.metadata.name)).catch(() => undefined)
  return preflightSpec(spec, {state, hosts: 'all'})
}

/** The checks of every host of `spec` (see PreflightSpecOptions), hosts in parallel. */
export async function preflightSpec(spec: ClusterSpec, options: PreflightSpecOptions = {}): Promise<PreflightResult> {
  const names = options.hosts === 'placed' ? placedHosts(spec).filter((n) => n !== LOCAL_HOST_NAME) : [LOCAL_HOST_NAME, ...(spec.spec.hosts ?? []).map((h) => h.name)]
  const ports = await plannedPorts(spec, options.state)
  const dbHost = 'embedded' in spec.spec.database ? (spec.spec.database.host ?? LOCAL_HOST_NAME) : undefined
  const version = await bundleVersion()
  const rows = await inBatches(names, PARALLEL_HOSTS, async (name) => {
    const def = resolveHost(spec, name)
    const host = hostNamed(name, def)
    const address = host?.address ?? def?.ssh.address ?? def?.ssh.host ?? name
    const checks: HostCheck[] = host
      ? await checkHost({host, installPath: def?.paths.install, installVersion: version, diskNeeded: INSTALL_BYTES + (name === dbHost ? POSTGRES_INSTALL_BYTES : 0), ports: ports.get(name) ?? []})
      : [{host: name, check: 'ssh', ok: false, found: 'the host has no ssh definition', fix: 'Give it one in spec.hosts, or run its nodes on this machine (remove their host key).'}]
    return {name, address: host?.address ?? address, local: Boolean(host?.isLocal), ok: checks.every((c) => c.ok), checks}
  })
  return {cluster: spec.metadata.name, ok: rows.every((r) => r.ok), hosts: rows}
}

/**
 * The error `init` stops with when a check failed, or undefined when all passed: every failure,
 * each with its host, check, what was found and what to do.
 */
export function preflightError(result: PreflightResult, specPath: string, command = 'kctl init'): UserError | undefined {
  const failed = result.hosts.flatMap((h) => h.checks.filter((c) => !c.ok))
  if (failed.length === 0) return undefined
  const hosts = new Set(failed.map((c) => c.host)).size
  const lines = failed.map((c) => `  ${c.host} ${c.check}: ${c.found.replace(/\.$/, '')}.${c.fix ? `\n    ${c.fix}` : ''}`)
  return new UserError(
    'PREFLIGHT_FAILED',
    `Preflight found ${failed.length === 1 ? 'a problem' : `${failed.length} problems`} on ${hosts === 1 ? `host ${failed[0].host}` : `${hosts} hosts`}; nothing was changed on any host.\n${lines.join('\n')}`,
    {
      hint: `Fix ${failed.length === 1 ? 'it' : 'them'} and run \`${command}\` again (${basename(specPath)}); \`kctl preflight\` runs these checks alone.`,
      details: {failed, hosts: result.hosts},
    },
  )
}

/** The hosts the spec places the embedded database or a node on, in spec order. */
function placedHosts(spec: ClusterSpec): string[] {
  const db = spec.spec.database
  const names = ['embedded' in db ? db.host : undefined, ...spec.spec.nodes.map((n) => n.host)].map((h) => h ?? LOCAL_HOST_NAME)
  return [...new Set(names)]
}

/** Per host: the ports its nodes and database will listen on, leaving out those of running processes. */
async function plannedPorts(spec: ClusterSpec, state: ClusterState | undefined): Promise<Map<string, PlannedPort[]>> {
  const out = new Map<string, PlannedPort[]>()
  const add = (host: string | undefined, ports: PlannedPort[]) => out.set(host ?? LOCAL_HOST_NAME, [...(out.get(host ?? LOCAL_HOST_NAME) ?? []), ...ports])
  const running = async (name: string): Promise<boolean> => {
    const known = name === DATABASE_NODE ? state?.embedded : state?.nodes[name]
    return Boolean(state && known && (await processRunning(state, name).catch(() => false)))
  }
  const db = spec.spec.database
  if ('embedded' in db && !(await running(DATABASE_NODE))) {
    // On another host Postgres takes Kong's default port there; here the one the state chose.
    const port = db.port ?? (isLocalName(db.host) ? state?.connection.port : 5432)
    if (port) add(db.host, [{address: isLocalName(db.host) ? '127.0.0.1' : '0.0.0.0', port, what: 'the embedded database', key: 'spec.database.port'}])
  }
  for (const [i, node] of spec.spec.nodes.entries()) {
    if (await running(node.name)) continue
    add(
      node.host,
      LISTEN_KEYS.flatMap((key) => listenPorts(nodeListen(node, key), `${key} of ${node.name}`, `spec.nodes[${i}].${key}`)),
    )
  }
  return out
}

export {checkClusterConnectivity, connectivityTargets, type ConnectivityOptions} from '../cluster/connectivity.js'
