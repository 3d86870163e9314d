/**
 * Nodes on a host whose PID 1 is systemd run as a unit, `kctl-<cluster>-<node>.service` in
 * /etc/systemd/system: the cluster's unprivileged user, Restart=on-failure, a raised
 * LimitNOFILE, output appended to the node's log (as for a detached process, so `kctl logs`
 * reads the same file). Elsewhere they run detached (Host.spawnDetached).
 *
 * A rolling restart or an upgrade replaces the node's supervisor, the unit's main process, by
 * a new one that takes its sockets over (runtime/supervisor/). `PIDFile=` names the file the
 * new supervisor writes before the old one exits: systemd reads it when the main process
 * ends and follows the node to its new pid, instead of taking the unit for finished and
 * ending what is left in its cgroup, the new supervisor with it.
 *
 *   renderUnit ─▶ writeFile(/etc/systemd/system/<unit>) ─▶ systemctl daemon-reload
 *              ─▶ systemctl restart <unit> ─▶ MainPID ─▶ the process identity kctl records
 */
import {ExternalError} from '../kit/errors.js'
import type {ProcessIdentity} from '../kit/process.js'
import type {Host} from './hosts/host.js'
import {chownTree, nodeBinaryIn, runtimeEntryIn, type HostInstall} from './remote-install.js'
import {pidFilePath} from '../runtime/supervisor/record.js'
import type {HostPaths} from './spec-hosts.js'
import type {NodeState} from './state.js'

export const UNIT_DIR = '/etc/systemd/system'

export const unitName = (cluster: string, node: string): string => `kctl-${cluster}-${node}.service`

/** Open files a node may hold (connections, upstream sockets, log files). */
export const NODE_NOFILE = 65536

/**
 * systemd's quoting for one word of ExecStart (paths with spaces or quotes, `%` kept
 * literal; `$` too in arguments: systemd expands variables there, not in the program's path).
 */
function execWord(word: string, i: number): string {
  const escaped = word.replace(/%/g, '%%').replace(/\$/g, i === 0 ? '$' : '$$$$')
  return /[\s"'\\]/.test(escaped) ? `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : escaped
}

/** A path as the value of a setting that expands specifiers (`%` kept literal). */
const pathValue = (path: string): string => path.replace(/%/g, '%%')

/** The unit file of a node of `cluster` run from `install`. */
export function renderUnit(input: {cluster: string; node: Pick<NodeState, 'name' | 'role' | 'prefix' | 'confPath' | 'logFile'>; install: Pick<HostInstall, 'dir' | 'user'>}): string {
  const {cluster, node, install} = input
  const exec = [nodeBinaryIn(install.dir), runtimeEntryIn(install.dir), '--conf', node.confPath].map(execWord).join(' ')
  return `# Written by kctl for node ${node.name} of cluster ${cluster}; \`kctl destroy\` removes it.
[Unit]
Description=kctl gateway node ${node.name} (${node.role}) of cluster ${cluster}
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
PIDFile=${pathValue(pidFilePath(node.prefix))}
User=${install.user}
Group=${install.user}
WorkingDirectory=${pathValue(node.prefix)}
ExecStart=${exec}
Restart=on-failure
RestartSec=2
LimitNOFILE=${NODE_NOFILE}
TimeoutStopSec=45
StandardOutput=append:${pathValue(node.logFile)}
StandardError=append:${pathValue(node.logFile)}

[Install]
WantedBy=multi-user.target
`
}

/**
 * Starts the node as its unit (written, reloaded, restarted) and returns its main process.
 * The cluster's folders are handed to the service user first: it reads its conf and keys and
 * writes its prefix.
 */
export async function startUnit(host: Host, paths: HostPaths, cluster: string, node: NodeState, install: HostInstall): Promise<ProcessIdentity> {
  const unit = unitName(cluster, node.name)
  await host.writeFile(`${UNIT_DIR}/${unit}`, renderUnit({cluster, node, install}), {mode: 0o644})
  await chownTree(host, install, paths.config)
  await chownTree(host, install, paths.data)
  await host.run('systemctl', ['daemon-reload'])
  await host.run('systemctl', ['restart', unit])
  const pid = Number((await host.run('systemctl', ['show', '-p', 'MainPID', '--value', unit])).stdout.trim())
  const id = pid > 0 ? await host.processIdentity(pid) : undefined
  if (!id) throw new ExternalError('NODE_START_FAILED', `Node ${node.name} did not start on host ${host.name} (unit ${unit} has no main process).`, '', {hint: `See \`kctl logs ${node.name}\`, or \`journalctl -u ${unit}\` on ${host.name}.`})
  return id
}

/** Shell lines that stop and remove the units of these nodes of `cluster` on a host (for destroy). */
export function removeUnitsScript(cluster: string, nodes: string[]): string {
  const files = nodes.map((n) => `${UNIT_DIR}/${unitName(cluster, n)}`).join(' ')
  return [
    `found=; for f in ${files}; do [ -e "$f" ] || continue; found=1; u=$(basename "$f"); systemctl stop "$u" >/dev/null 2>&1; rm -f -- "$f"; done`,
    '[ -z "$found" ] || systemctl daemon-reload',
  ].join('\n')
}
