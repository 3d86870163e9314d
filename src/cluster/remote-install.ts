/**
 * What kctl installs on another host, and where (nowhere else on it):
 *
 *   <install>/<version>/               the bundle, shared by the clusters on that host
 *       bin/node                       this machine's Node binary (hosts need none)
 *       package.json                   {"type": "module"}: dist is ES modules
 *       dist/src/…                     the compiled runtime (worker entry points included)
 *       node_modules/…                 the production packages the runtime imports, and theirs
 *       postgres/native/…              the embedded Postgres (only on the database's host)
 *       .clusters/<cluster>            one marker per cluster using this version
 *   <install>/current → <version>      switched atomically (a new link renamed over the old)
 *   <install>/<other version>/         kept beside it after `kctl upgrade` (HostInstall.previous)
 *   <config>/nodes/<node>/kong.conf    per cluster (0600), certificates in <config>/certs/
 *   <data>/nodes/<node>/…              prefix: logs, pid, node id, caches
 *   <data>/postgres/…                  the embedded database's data and log
 *   user kctl-<cluster>                the unprivileged user Postgres (and systemd units) run as
 *
 * Files go up with Host.copyTree, which sends only what differs (size + sha256), so a second
 * install of the same version sends nothing.
 */
import {existsSync, readFileSync} from 'node:fs'
import {chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join, relative, resolve} from 'node:path'
import {ExternalError} from '../kit/errors.js'
import {registerCleanup} from '../kit/cleanup.js'
import {packageRoot} from '../kit/paths.js'
import type {Host} from './hosts/host.js'
import {shellQuote} from './hosts/ssh-options.js'
import {resolveBinaries} from './postgres-binaries.js'
import {defaultHostPaths, type HostPaths} from './spec-hosts.js'

/** What kctl put on one host for one cluster (kept in the state, for launch and destroy). */
export interface HostInstall {
  /** The bundle's version: `<install>/<version>/`. */
  version: string
  /** `<install>/<version>`. */
  dir: string
  /** The service user, and whether kctl created it (destroy removes only such a user). */
  user: string
  uid: number
  gid: number
  userCreated: boolean
  /** The embedded Postgres binaries are in the bundle. */
  postgres: boolean
  /** PID 1 is systemd there: nodes run as units (systemd-unit.ts). */
  systemd: boolean
  /** The version `kctl upgrade` moved from, still installed beside this one for `--rollback`. */
  previous?: string
}

/** The unprivileged user of a cluster on its hosts: `kctl-<cluster>`, at most 32 characters. */
export function serviceUser(cluster: string): string {
  const name = `kctl-${cluster}`
  return name.length <= 32 ? name : `${name.slice(0, 32).replace(/-+$/, '')}`
}

export const nodeBinaryIn = (dir: string): string => join(dir, 'bin', 'node')
export const runtimeEntryIn = (dir: string): string => join(dir, 'dist', 'src', 'runtime', 'main.js')
export const postgresNativeIn = (dir: string): string => join(dir, 'postgres', 'native')

/** The package's version: the name of the install folder. */
export async function bundleVersion(): Promise<string> {
  return (JSON.parse(await readFile(join(packageRoot(), 'package.json'), 'utf8')) as {version: string}).version
}

/** Local folders of the bundle and where each goes below `<install>/<version>/`. */
export interface BundlePart {
  from: string
  to: string
}

/**
 * The bundle's parts on this machine (the same for every host of a kctl run): the runtime, the
 * packages it imports, the embedded Postgres with `withPostgres`, and a staging folder for
 * what does not exist as a folder here (the Node binary and package.json).
 */
export async function bundleParts(withPostgres: boolean, root = packageRoot()): Promise<BundlePart[]> {
  const entry = join(root, 'dist', 'src', 'runtime', 'main.js')
  if (!existsSync(entry)) throw new ExternalError('NODE_START_FAILED', `The gateway runtime is not built (${entry} is missing).`, '', {hint: 'Run `npm run build`.'})
  const parts: BundlePart[] = [
    {from: await stagingFor(root), to: '.'},
    {from: join(root, 'dist', 'src'), to: 'dist/src'},
    ...runtimePackages(root).map((dir) => ({from: dir, to: relative(root, dir)})),
  ]
  if (withPostgres) parts.push({from: (await resolveBinaries()).nativeDir, to: 'postgres/native'})
  return parts
}

/**
 * The staging folder of the package at `root`, made once per kctl run and shared by every host:
 * the same files, so the same inodes, whose sha256 tree-diff computes once. Removed when kctl
 * exits. The Node binary is a copy, not a hard link: every link made or removed changes the
 * binary's ctime, and tar fails ("file changed as we read it") when that happens while it packs.
 */
const stagings = new Map<string, Promise<string>>()
function stagingFor(root: string): Promise<string> {
  let made = stagings.get(root)
  if (!made) {
    made = (async () => {
      const dir = await mkdtemp(join(tmpdir(), 'kctl-bundle-'))
      registerCleanup(async () => {
        stagings.delete(root)
        await rm(dir, {recursive: true, force: true})
      })
      const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {name: string; version: string}
      await mkdir(join(dir, 'bin'), {recursive: true})
      await writeFile(join(dir, 'package.json'), `${JSON.stringify({name: `${pkg.name}-runtime`, version: pkg.version, type: 'module', private: true}, null, 2)}\n`)
      const node = join(dir, 'bin', 'node')
      await copyFile(process.execPath, node)
      await chmod(node, 0o755)
      return dir
    })()
    stagings.set(root, made)
    made.catch(() => stagings.delete(root))
  }
  return made
}

const IMPORT_RE = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)'([^']+)'/g
const WORKER_RE = /new URL\('(\.[^']+)',\s*import\.meta\.url\)/g

/**
 * The folders of the packages the runtime needs: the bare imports of every compiled file
 * reachable from the runtime's entry (static, dynamic and worker entries), then their
 * dependencies, as they lie under node_modules here.
 */
export function runtimePackages(root: string): string[] {
  const seen = new Set<string>()
  const bare = new Set<string>()
  const walk = (file: string): void => {
    if (seen.has(file) || !existsSync(file)) return
    seen.add(file)
    const text = readFileSyncUtf8(file)
    for (const re of [IMPORT_RE, WORKER_RE]) {
      for (const m of text.matchAll(re)) {
        const spec = m[1]
        if (spec.startsWith('.')) walk(resolve(dirname(file), spec))
        else if (!spec.startsWith('node:')) bare.add(packageName(spec))
      }
    }
  }
  walk(join(root, 'dist', 'src', 'runtime', 'main.js'))
  const dirs = new Set<string>()
  const add = (name: string, from: string): void => {
    const dir = findPackage(name, from, root)
    if (!dir || dirs.has(dir)) return
    dirs.add(dir)
    const pj = JSON.parse(readFileSyncUtf8(join(dir, 'package.json'))) as {dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>; peerDependencies?: Record<string, string>}
    for (const dep of Object.keys({...pj.dependencies, ...pj.optionalDependencies, ...pj.peerDependencies})) add(dep, dir)
  }
  for (const name of bare) add(name, root)
  // A package inside another's node_modules goes up with that one.
  const sorted = [...dirs].sort()
  return sorted.filter((d) => !sorted.some((o) => o !== d && d.startsWith(`${o}/`)))
}

const readFileSyncUtf8 = (file: string): string => readFileSync(file, 'utf8')

const packageName = (spec: string): string => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0])

/** Node's lookup: `<dir>/node_modules/<name>` from `from` up to the package root. */
function findPackage(name: string, from: string, root: string): string | undefined {
  let dir = from
  for (;;) {
    const candidate = join(dir, 'node_modules', name)
    if (existsSync(join(candidate, 'package.json'))) return candidate
    if (dir === root || dirname(dir) === dir) return undefined
    dir = dirname(dir)
    if (dir.endsWith('/node_modules')) dir = dirname(dir)
  }
}

/**
 * Installs the bundle for `cluster` on `host` (its paths `paths`), creates the service user
 * and the cluster's folders. Idempotent: what is already there is not sent again.
 * @returns the install record and the bytes sent
 */
export async function installOn(host: Host, paths: HostPaths, cluster: string, options: {postgres: boolean; previous?: HostInstall; source?: {root: string; version: string}}): Promise<{install: HostInstall; bytesSent: number}> {
  const facts = await host.facts()
  if (facts.os !== 'linux' || facts.arch !== process.arch || process.platform !== 'linux') {
    throw new ExternalError('HOST_UNAVAILABLE', `Host ${host.name} runs ${facts.os}/${facts.arch}; kctl installs there the Node binary of this machine (${process.platform}/${process.arch}), so the host must be linux/${process.arch}.`, '', {
      hint: `Run kctl from a linux/${facts.arch} machine, or place the nodes of host ${host.name} on a linux/${process.arch} host.`,
    })
  }
  // another kctl package (`kctl upgrade` run by it installs its own): its root and version
  const version = options.source?.version ?? (await bundleVersion())
  const dir = join(paths.install, version)
  const user = serviceUser(cluster)
  const ids = await host.run('sh', ['-c', [
    'u=$1; home=$2',
    'if id -u "$u" >/dev/null 2>&1; then echo existed; else useradd --system --no-create-home --home-dir "$home" --shell /usr/sbin/nologin "$u" >&2 && echo created || exit 1; fi',
    'id -u "$u"; id -g "$u"',
  ].join('\n'), 'sh', user, paths.data])
  const [how, uid, gid] = ids.stdout.trim().split('\n')
  const q = shellQuote
  if (options.previous && options.previous.dir !== dir) {
    // another version beside the one there: start from hard links of it, so only what differs is sent
    // (tar replaces a file by a new one, never writes through the link)
    const prev = options.previous.dir
    await host.run('sh', ['-c', `[ -e ${q(dir)} ] || [ ! -e ${q(join(prev, 'dist'))} ] || { rm -rf -- ${q(`${dir}.seed`)}; cp -al -- ${q(prev)} ${q(`${dir}.seed`)} && rm -rf -- ${q(`${dir}.seed/.clusters`)} && mv -T -- ${q(`${dir}.seed`)} ${q(dir)}; }`])
  }
  // every part in one copy: one listing of what is there (size + sha256) and one stream
  const parts = await bundleParts(options.postgres, options.source?.root)
  const {bytesSent} = await host.copyTree(parts, dir)
  const marker = join(dir, '.clusters', cluster)
  await host.run('sh', ['-c', [
    'set -e',
    `[ -e ${q(marker)} ] || { mkdir -p -- ${q(dirname(marker))}; : > ${q(marker)}; }`,
    switchCurrentLine(paths.install, version),
    `mkdir -p -- ${q(paths.config)} ${q(paths.data)}`,
    `chmod 0700 ${q(paths.config)}; chmod 0755 ${q(paths.data)}`,
  ].join('\n')])
  const install: HostInstall = {version, dir, user, uid: Number(uid), gid: Number(gid), userCreated: how === 'created' || Boolean(options.previous?.userCreated && options.previous.user === user), postgres: options.postgres || Boolean(options.previous?.postgres && options.previous.version === version), systemd: facts.systemd}
  return {install, bytesSent}
}

/** The `current` link: a new link renamed over the old one, so it is never missing. */
function switchCurrentLine(install: string, version: string): string {
  const q = shellQuote
  return `[ "$(readlink ${q(join(install, 'current'))} 2>/dev/null)" = ${q(version)} ] || { ln -sfn ${q(version)} ${q(join(install, '.current.tmp'))}; mv -Tf ${q(join(install, '.current.tmp'))} ${q(join(install, 'current'))}; }`
}

/** Points `<install>/current` at `version` (`kctl upgrade --rollback`: the bundle is there already). */
export async function switchCurrent(host: Host, install: string, version: string): Promise<void> {
  await host.run('sh', ['-c', `set -e\n${switchCurrentLine(install, version)}`])
}

/** Shell lines: `cluster` no longer uses the bundle `dir`, which goes when no cluster does. */
function releaseLines(dir: string, cluster: string): string[] {
  const q = shellQuote
  return [`rm -f -- ${q(join(dir, '.clusters', cluster))}`, `if [ -z "$(ls -A -- ${q(join(dir, '.clusters'))} 2>/dev/null)" ]; then rm -rf -- ${q(dir)}; fi`]
}

/** `cluster` no longer uses the bundle of `version` on `host`: its marker goes, and the bundle when no cluster uses it. */
export async function releaseBundle(host: Host, install: string, cluster: string, version: string): Promise<void> {
  await host.run('sh', ['-c', releaseLines(join(install, version), cluster).join('\n')])
}

/**
 * Removes what kctl created on `host` for `cluster` (its units first: systemd-unit.ts): its config and data folders, the
 * service user if kctl created it, its marker in the bundle, and the bundle (then the
 * install folder, when empty) once no cluster uses it any more. Empty parents of the default paths
 * (/etc/kctl, /var/lib/kctl) go too; nothing else is touched.
 */
export async function uninstallFrom(host: Host, paths: HostPaths, cluster: string, install: HostInstall | undefined): Promise<void> {
  const q = shellQuote
  // the parents kctl's default paths put there (/etc/kctl, /var/lib/kctl) go once empty; others are not kctl's
  const defaults = defaultHostPaths(cluster)
  const parents = [paths.config === defaults.config ? dirname(paths.config) : '', paths.data === defaults.data ? dirname(paths.data) : ''].filter(Boolean)
  // what kctl made inside the cluster's folders, then the folders once empty (a `paths` entry may name a folder that holds more)
  const made = [join(paths.config, 'nodes'), join(paths.config, 'certs'), join(paths.data, 'nodes'), join(paths.data, 'postgres')]
  const lines = [`rm -rf -- ${made.map(q).join(' ')}`, `rmdir -- ${q(paths.config)} ${q(paths.data)} 2>/dev/null || true`, ...parents.map((d) => `rmdir -- ${q(d)} 2>/dev/null || true`)]
  if (install) {
    if (install.userCreated) lines.push(`if id -u ${q(install.user)} >/dev/null 2>&1; then userdel ${q(install.user)} >&2 || exit 1; fi`)
    lines.push(
      // the bundle (and the one kept for a rollback) goes when no cluster uses it; the install folder when no bundle is left
      ...releaseLines(install.dir, cluster),
      ...(install.previous ? releaseLines(join(dirname(install.dir), install.previous), cluster) : []),
      // `current` once it points at a bundle no longer there; the install folder once empty (never more)
      `[ -e ${q(join(paths.install, 'current'))}/ ] || rm -f -- ${q(join(paths.install, 'current'))}`,
      `rmdir -- ${q(paths.install)} 2>/dev/null || true`,
    )
  }
  await host.run('sh', ['-c', lines.join('\n')])
}

/** Files the user's Postgres and nodes must own below the cluster's folders. */
export async function chownTree(host: Host, install: HostInstall, path: string): Promise<void> {
  await host.run('chown', ['-R', `${install.uid}:${install.gid}`, path])
}
