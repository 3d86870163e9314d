/**
 * `kctl init` after nodes were taken out of kctl.yaml: which nodes the spec no longer has
 * (recorded in the state while they still run, or left as a folder under `nodes/`), and,
 * with `--prune`, their removal as `kctl scale` removes nodes (drained, stopped, forgotten,
 * a data plane's row dropped from the control planes' list).
 */
import {existsSync} from 'node:fs'
import {readdir, readFile} from 'node:fs/promises'
import {join} from 'node:path'
import type {Reporter} from '../kit/output.js'
import type {ClusterSpec, Role} from '../cluster/spec.js'
import type {ClusterState, NodeState} from '../cluster/state.js'
import type {ClusterRef} from './cluster.js'

/**
 * The nodes of `state` (read before the spec was applied to it) and the node folders of
 * `stateDir` that the spec does not name.
 */
export async function nodesNotInSpec(state: ClusterState | undefined, spec: ClusterSpec, stateDir: string): Promise<NodeState[]> {
  const named = new Set(spec.spec.nodes.map((n) => n.name))
  const gone = new Map<string, NodeState>()
  for (const n of Object.values(state?.nodes ?? {})) if (!named.has(n.name)) gone.set(n.name, n)
  const dir = join(stateDir, 'nodes')
  const folders = existsSync(dir) ? await readdir(dir, {withFileTypes: true}) : []
  for (const f of folders) {
    if (!f.isDirectory() || named.has(f.name) || gone.has(f.name)) continue
    const prefix = join(dir, f.name)
    const conf = await readFile(join(prefix, 'kong.conf'), 'utf8').catch(() => '')
    const role = (/^role\s*=\s*(\w+)/m.exec(conf)?.[1] ?? 'traditional') as Role
    gone.set(f.name, {name: f.name, role, prefix, confPath: join(prefix, 'kong.conf'), logFile: join(prefix, 'logs', 'node.log'), intent: 'stopped', listen: {}})
  }
  return [...gone.values()]
}

/** Removes each node, data planes first (as `kctl scale` removes the last ones first). */
export async function pruneNodes(ref: ClusterRef & {report: Reporter}, nodes: NodeState[]): Promise<string[]> {
  const {removeNode} = await import('./scale.js') // loaded only when there is something to prune
  const order = [...nodes.filter((n) => n.role === 'data_plane'), ...nodes.filter((n) => n.role !== 'data_plane')]
  for (const n of order) {
    ref.report.step(`Removing ${n.name} (no longer in kctl.yaml)`)
    await removeNode(ref, n)
  }
  return order.map((n) => n.name)
}

/** What `init` without --prune says about them. */
export function notInSpecWarning(names: string[], specPath: string): string {
  const list = names.join(', ')
  return `${list} ${names.length === 1 ? 'is' : 'are'} no longer in ${specPath} but ${names.length === 1 ? 'was' : 'were'} left as ${names.length === 1 ? 'it is' : 'they are'}: \`kctl init --prune\` drains, stops and removes ${names.length === 1 ? 'it' : 'them'} (a data plane's row leaves the control plane's list too).`
}
