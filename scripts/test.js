#!/usr/bin/env node
// Runs every compiled test file with Node's built-in runner. Node 20 does not expand
// globs, so the files are listed here and passed explicitly.
// Usage: node scripts/test.js [--unit | --e2e] [filter…]   (filters match parts of the file path)
//
//   --unit  only the tests that run inside the test process: no child process, no
//           Postgres, no Redis, no kctl run (the fast part; `npm run test:unit`). It
//           compiles with tsc only (the oclif manifest and the source checks are for the
//           CLI and CI: `npm test` and --e2e run them) and runs the files side by side.
//   --e2e   only the others (`npm run test:e2e`); neither flag: both (`npm test`, CI)
//
// tsc builds incrementally (dist/.tsbuildinfo): unchanged files are not checked again.
//
// A test file is e2e when it, or a file under test/ it imports, imports one of E2E_MARKS:
// the helpers that start something outside the test process, or child_process itself.
// The split follows what a test does, so a new test lands on the right side by itself.
import {spawnSync} from 'node:child_process'
import {readFileSync, readdirSync, statSync} from 'node:fs'
import {availableParallelism} from 'node:os'
import {dirname, join, relative, resolve} from 'node:path'

const root = new URL('..', import.meta.url).pathname
const args = process.argv.slice(2)
const kind = args.includes('--unit') ? 'unit' : args.includes('--e2e') ? 'e2e' : 'all'
if (args.includes('--unit') && args.includes('--e2e')) {
  console.error('--unit and --e2e exclude each other; give neither to run both.')
  process.exit(2)
}

if (kind === 'unit') {
  // Unit tests run no CLI command: the compiled files are all they need.
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {cwd: root, stdio: 'inherit'})
  if (tsc.status !== 0) process.exit(tsc.status ?? 1)
} else {
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
}

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.js') ? [p] : []
  })
}

const E2E_MARKS = [
  /from '[./]*\/helpers\/(postgres|nodes|kctl|redis|gateway|system)\.js'/,
  /from '[./]*\/status\/tmux\.js'/,
  // this machine behind the Host interface: real processes, detached ones included
  /from '[./]*\/src\/cluster\/hosts\/local\.js'/,
  /from 'node:child_process'/,
  /from 'pg'/,
]
const testRoot = join(root, 'dist', 'test')
const e2eCache = new Map()
/** Whether `file` (compiled JS) or a test file it imports starts something outside the process. */
function isE2e(file) {
  if (e2eCache.has(file)) return e2eCache.get(file)
  e2eCache.set(file, false) // import cycles end here
  const text = readFileSync(file, 'utf8')
  let e2e = E2E_MARKS.some((re) => re.test(text))
  for (const m of text.matchAll(/from '(\.{1,2}\/[^']+\.js)'/g)) {
    if (e2e) break
    const dep = resolve(dirname(file), m[1])
    if (dep.startsWith(testRoot) && statSync(dep, {throwIfNoEntry: false})) e2e = isE2e(dep)
  }
  e2eCache.set(file, e2e)
  return e2e
}

const filters = args.filter((a) => a !== '--unit' && a !== '--e2e')
const files = walk(testRoot)
  .filter((f) => filters.length === 0 || filters.some((x) => relative(root, f).includes(x)))
  .filter((f) => kind === 'all' || isE2e(f) === (kind === 'e2e'))
  .sort()
if (files.length === 0) {
  console.error(`no ${kind === 'all' ? '' : kind + ' '}test files found${filters.length ? ` matching ${filters.join(', ')}` : ''}`)
  process.exit(1)
}
// e2e files one at a time (they start real servers and processes on a 2-core machine).
// Unit files side by side: they spend most of their time waiting on sockets and timers
// within their own process, so a few at once overlap those waits. No single test may hang
// the run: each gets at most 10 minutes (the remote-host suites install to several hosts).
const concurrency = kind === 'unit' ? Math.max(2, availableParallelism()) : 1
const res = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=600000', ...files], {cwd: root, stdio: 'inherit'})
process.exit(res.status ?? 1)
