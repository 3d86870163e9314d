#!/usr/bin/env node
/**
 * Runs the benchmarks one after the other (never in parallel: they would measure each
 * other). `npm run bench [-- name…]` runs the named ones only, e.g. `npm run bench -- propagation`.
 * A benchmark is listed here explicitly; helpers and profiling tools in bench/ are not.
 */
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

const BENCHMARKS = ['propagation', 'propagation-scale', 'cp-scale', 'config-swap', 'proxy', 'router', 'cli', 'status-watch', 'declarative', 'operations', 'fuzz']

const only = process.argv.slice(2)
let failed = 0
for (const name of BENCHMARKS.filter((b) => only.length === 0 || only.includes(b))) {
  const file = fileURLToPath(new URL(`./${name}.js`, import.meta.url))
  if (!existsSync(file)) continue
  console.log(`\n## ${name}\n`)
  const res = spawnSync(process.execPath, [file], {stdio: 'inherit'})
  if (res.status !== 0) failed++
}
process.exit(failed ? 1 : 0)
