/**
 * System commands the tests need (tmux, openssl, redis-server): installed from Debian's
 * packages when missing, so a fresh machine runs the suite with nothing set up by hand.
 */
import {spawnSync} from 'node:child_process'

const has = (bin: string): boolean => spawnSync('sh', ['-c', `command -v ${bin}`], {stdio: 'ignore'}).status === 0

/**
 * Makes `bin` available, installing `pkg` with apt-get (after an `apt-get update`, which a
 * new machine needs before any install) when it is not on PATH.
 * @throws naming the package and apt-get's output when the install fails.
 */
export function ensureCommand(bin: string, pkg = bin): void {
  if (has(bin)) return
  const r = spawnSync('sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${pkg}`], {encoding: 'utf8'})
  if (r.status !== 0 || !has(bin)) throw new Error(`${bin} is missing and \`apt-get install -y ${pkg}\` failed (exit ${r.status}): ${r.stderr.trim().slice(-500)}`)
}
