/** System tools a benchmark needs, installed from Debian's packages when missing. */
import {execFileSync, spawnSync} from 'node:child_process'

export function has(bin) {
  return spawnSync('sh', ['-c', `command -v ${bin}`], {stdio: 'ignore'}).status === 0
}

/** Installs `pkg` with apt-get when `bin` is not on PATH; throws when that fails. */
export function ensureTool(bin, pkg = bin) {
  if (has(bin)) return
  process.stderr.write(`${bin} not found; installing ${pkg} with apt-get…\n`)
  execFileSync('sh', ['-c', `apt-get update -qq && apt-get install -y -qq ${pkg}`], {stdio: ['ignore', 'ignore', 'inherit']})
  if (!has(bin)) throw new Error(`${bin} is still missing after installing ${pkg}`)
}
