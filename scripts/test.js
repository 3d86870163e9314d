#!/usr/bin/env node
// Runs every compiled test file with Node's built-in runner. Node 20 does not expand
// globs, so the files are listed here and passed explicitly.
// Usage: node scripts/test.js [filter…]   (filters match parts of the file path)
import {spawnSync} from 'node:child_process'
import {readdirSync, statSync} from 'node:fs'
import {join, relative} from 'node:path'

const root = new URL('..', import.meta.url).pathname
// The whole build (tsc, then the oclif manifest the CLI loads its commands from): a stale
// manifest would hide a new command or flag from the tests.
const build = spawnSync('npm', ['run', '--silent', 'build'], {cwd: root, stdio: 'inherit'})
if (build.status !== 0) process.exit(build.status ?? 1)
// No import cycle and no layer crossing in src/ (scripts/check-cycles.js lists what it finds).
const cycles = spawnSync(process.execPath, [join(root, 'scripts', 'check-cycles.js')], {cwd: root, stdio: 'inherit'})
if (cycles.status !== 0) process.exit(cycles.status ?? 1)
// The explicit `any` in src/ stay under their ceiling (scripts/any-ceiling.txt).
const anys = spawnSync(process.execPath, [join(root, 'scripts', 'check-any.js')], {cwd: root, stdio: 'inherit'})
if (anys.status !== 0) process.exit(anys.status ?? 1)

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.js') ? [p] : []
  })
}

const filters = process.argv.slice(2)
const files = walk(join(root, 'dist', 'test'))
  .filter((f) => filters.length === 0 || filters.some((x) => relative(root, f).includes(x)))
  .sort()
if (files.length === 0) {
  console.error('no test files found')
  process.exit(1)
}
// One file at a time (they start real servers on a 2-core machine); no single test may
// hang the run: each gets at most 5 minutes.
const res = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=300000', ...files], {cwd: root, stdio: 'inherit'})
process.exit(res.status ?? 1)
