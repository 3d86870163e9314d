/**
 * Installed runtimes. Each kctl release's gateway runtime is copied into the cluster's own
 * folder, one folder per version, and every node runs from the copy of the version it is on
 * (NodeState.runtime). Installing another kctl (npm) never changes the code under a running
 * node, and `kctl upgrade` moves nodes between two copies that sit side by side.
 *
 *   <cluster state dir>/runtime/<version>/package.json        written last: the copy is whole
 *                                         dist/src/…           the compiled runtime (main.js)
 *                                         node_modules/<dep>   → the package's dependencies
 *
 * Another host gets the same folder under its install dir (`<install>/<version>/`).
 */
import {existsSync, readFileSync} from 'node:fs'
import {cp, mkdir, rename, rm, symlink, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {UserError} from '../kit/errors.js'
import {packageRoot, packageVersion} from '../kit/paths.js'
import type {Host} from './hosts/host.js'
import type {ClusterState, NodeState} from './state.js'

/** A kctl package whose runtime can be installed: its root (bin/, dist/, package.json) and version. */
export interface RuntimeSource {
  root: string
  version: string
}

/** This kctl's own runtime. */
export const packageRuntime = (): RuntimeSource => ({root: packageRoot(), version: packageVersion()})

/** The kctl package at `root` (its package.json names the version). */
export function runtimeSourceAt(root: string): RuntimeSource {
  return {root, version: String(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version)}
}

/** Where `version` is installed for the cluster whose state lives in `stateDir`. */
export const installDir = (stateDir: string, version: string): string => join(stateDir, 'runtime', version)

/** The entry (main.js) of an installed runtime. */
export const installedEntry = (dir: string): string => join(dir, 'dist', 'src', 'runtime', 'main.js')

/** Whether `version` is installed (whole) on `host`. */
export const isInstalled = (host: Host, stateDir: string, version: string): Promise<boolean> => host.exists(join(installDir(stateDir, version), 'package.json'))

/**
 * Copies the runtime of `source` to its version's folder, unless it is there already.
 * Returns the folder and whether this call installed it.
 */
export async function installRuntime(host: Host, stateDir: string, source: RuntimeSource): Promise<{dir: string; installed: boolean}> {
  const dir = installDir(stateDir, source.version)
  if (await isInstalled(host, stateDir, source.version)) return {dir, installed: false}
  const entry = installedEntry(source.root)
  if (!existsSync(entry)) {
    throw new UserError('RUNTIME_NOT_INSTALLED', `The gateway runtime of kctl ${source.version} is not built (${entry} is missing).`, {hint: 'Run `npm run build`.'})
  }
  const pkg = `${JSON.stringify({name: 'kctl-runtime', version: source.version, private: true, type: 'module'}, null, 2)}\n`
  if (host.isLocal) {
    await installHere(source, dir, pkg)
    return {dir, installed: true}
  }
  await host.copyTree(join(source.root, 'dist', 'src'), join(dir, 'dist', 'src'))
  for (const [name, at] of dependencyDirs(source.root)) {
    await host.mkdir(dirname(join(dir, 'node_modules', name)))
    await host.run('ln', ['-sfn', at, join(dir, 'node_modules', name)])
  }
  await host.writeFile(join(dir, 'package.json'), pkg)
  return {dir, installed: true}
}

/** This machine: built in a temp folder beside `dir` (no source maps), then renamed into place. */
async function installHere(source: RuntimeSource, dir: string, pkg: string): Promise<void> {
  const tmp = `${dir}.${process.pid}.tmp`
  await rm(tmp, {recursive: true, force: true})
  await cp(join(source.root, 'dist', 'src'), join(tmp, 'dist', 'src'), {recursive: true, filter: (f) => !f.endsWith('.map')})
  for (const [name, at] of dependencyDirs(source.root)) {
    await mkdir(dirname(join(tmp, 'node_modules', name)), {recursive: true})
    await symlink(at, join(tmp, 'node_modules', name))
  }
  await writeFile(join(tmp, 'package.json'), pkg)
  await rm(dir, {recursive: true, force: true}) // an earlier copy left unfinished (no package.json)
  try {
    await rename(tmp, dir)
  } catch (err) {
    // another kctl installed the same version meanwhile
    await rm(tmp, {recursive: true, force: true})
    if (!existsSync(join(dir, 'package.json'))) throw err
  }
}

/**
 * The package's dependencies, each with the folder Node resolves it to from the package
 * (its own node_modules, or one above it when npm hoisted them).
 */
function dependencyDirs(root: string): [string, string][] {
  const deps = Object.keys(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).dependencies ?? {})
  const out: [string, string][] = []
  for (const name of deps) {
    for (let d = root; ; d = dirname(d)) {
      const at = join(d, 'node_modules', name)
      if (existsSync(join(at, 'package.json'))) {
        out.push([name, at])
        break
      }
      if (dirname(d) === d) break
    }
  }
  return out
}

/** The runtime version the cluster's nodes are on: the first node's that has one, else this kctl's. */
export function clusterRuntimeVersion(state: ClusterState): string {
  return Object.values(state.nodes).find((n) => n.runtime)?.runtime!.version ?? packageVersion()
}

/**
 * The entry `node` starts from: its version's installed copy (installed now when it is this
 * kctl's version). Records the version on a node that had none.
 * @throws UserError RUNTIME_NOT_INSTALLED when its version is another kctl's and not installed
 */
export async function runtimeEntryOf(host: Host, stateDir: string, state: ClusterState, node: NodeState): Promise<string> {
  const version = node.runtime?.version ?? clusterRuntimeVersion(state)
  if (!(await isInstalled(host, stateDir, version))) {
    const own = packageRuntime()
    if (version !== own.version) {
      throw new UserError('RUNTIME_NOT_INSTALLED', `Node ${node.name} runs kctl ${version}'s runtime, which is not installed (${installDir(stateDir, version)}); this is kctl ${own.version}.`, {
        hint: `Run \`kctl upgrade\` to move the cluster to kctl ${own.version}'s runtime, or use kctl ${version}.`,
      })
    }
    await installRuntime(host, stateDir, own)
  }
  node.runtime ??= {version}
  return installedEntry(installDir(stateDir, version))
}
