/**
 * Postgres refuses to run as root. When kctl runs as root, the server runs as the
 * unprivileged system user `kctl-postgres`, which must be able to reach both the binaries
 * and the data directory. Paths it cannot traverse (e.g. anything under /root) are
 * replaced: the binaries are copied once to /var/lib/kctl/postgres-<version>/ and the data
 * directory goes to /var/lib/kctl/data/<hash of the cluster state dir>/.
 */
import {createHash} from 'node:crypto'
import {chmod, cp, mkdir, rename, rm, stat} from 'node:fs/promises'
import {dirname, join, resolve} from 'node:path'
import {run} from '../kit/exec.js'
import {hydrateSymlinks, type PostgresBinaries} from './postgres-binaries.js'

export const RUN_AS_USER = 'kctl-postgres'
export const SYSTEM_DIR = '/var/lib/kctl'

export interface RunAs {
  user: string
  uid: number
  gid: number
}

/** The user to run Postgres as: undefined when we are not root (run as ourselves). */
export async function ensureRunAsUser(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined
  let ids = await lookupUser(RUN_AS_USER)
  if (!ids) {
    await run('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', RUN_AS_USER], {what: `could not create the system user ${RUN_AS_USER}`})
    ids = await lookupUser(RUN_AS_USER)
  }
  if (!ids) throw new Error(`user ${RUN_AS_USER} missing after useradd`)
  return {user: RUN_AS_USER, ...ids}
}

export async function lookupUser(name: string): Promise<{uid: number; gid: number} | undefined> {
  try {
    const {stdout} = await run('id', ['-u', name])
    const {stdout: g} = await run('id', ['-g', name])
    return {uid: Number(stdout.trim()), gid: Number(g.trim())}
  } catch {
    return undefined
  }
}

/**
 * True when "other" users can traverse every directory from / down to `path` (the
 * deepest existing one; missing tail directories will be created by us with 0755).
 */
export async function isTraversableByOthers(path: string): Promise<boolean> {
  let dir = resolve(path)
  const chain: string[] = []
  for (;;) {
    chain.push(dir)
    const up = dirname(dir)
    if (up === dir) break
    dir = up
  }
  for (const d of chain) {
    try {
      const s = await stat(d)
      if (s.isDirectory() && (s.mode & 0o001) === 0) return false
    } catch {
      // Not created yet: we create it world-traversable.
    }
  }
  return true
}

/** Binaries the run-as user can execute: the package's own, or a one-time copy under /var/lib/kctl. */
export async function binariesFor(bin: PostgresBinaries, runAs: RunAs | undefined): Promise<PostgresBinaries> {
  if (!runAs || (await isTraversableByOthers(join(bin.nativeDir, 'bin')))) return bin
  const dest = join(SYSTEM_DIR, `postgres-${bin.version}`)
  const nativeDir = join(dest, 'native')
  try {
    await stat(join(nativeDir, 'bin', 'postgres'))
    return {...bin, nativeDir}
  } catch {
    // First use: copy below.
  }
  await mkdir(SYSTEM_DIR, {recursive: true, mode: 0o755})
  await chmod(SYSTEM_DIR, 0o755)
  // Copy to a temp name and rename, so a concurrent or interrupted copy never looks complete.
  const tmp = `${dest}.tmp-${process.pid}`
  await rm(tmp, {recursive: true, force: true})
  await cp(bin.nativeDir, join(tmp, 'native'), {recursive: true, verbatimSymlinks: true})
  await hydrateSymlinks(join(tmp, 'native'))
  await chmod(tmp, 0o755)
  try {
    await rename(tmp, dest)
  } catch {
    await rm(tmp, {recursive: true, force: true}) // someone else won the race
  }
  return {...bin, nativeDir}
}

export interface DataDirPlacement {
  dataDir: string
  /** A directory outside the cluster state dir that destroy must remove, if any. */
  external?: string
}

/** Where the data directory goes: `preferred` when the run-as user can reach it, else /var/lib/kctl/data/<hash>. */
export async function placeDataDir(stateDir: string, preferred: string, runAs: RunAs | undefined): Promise<DataDirPlacement> {
  if (!runAs || (await isTraversableByOthers(dirname(preferred)))) return {dataDir: preferred}
  const hash = createHash('sha256').update(resolve(stateDir)).digest('hex').slice(0, 16)
  const external = join(SYSTEM_DIR, 'data', hash)
  await mkdir(external, {recursive: true, mode: 0o755})
  for (const d of [SYSTEM_DIR, join(SYSTEM_DIR, 'data'), external]) await chmod(d, 0o755)
  return {dataDir: join(external, 'pgdata'), external}
}
