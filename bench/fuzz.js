#!/usr/bin/env node
/**
 * The fuzz tests at a larger scale: the same generators and properties as
 * test/fuzz/*.test.ts (a real node's Admin API, proxy and status listeners; the
 * declarative engine), FUZZ_SCALE times the CI case counts, with a new seed each run
 * unless FUZZ_SEED is given. Needs a build (`npm run build` or `npm test` once).
 *
 *   node bench/fuzz.js [scale]        # default 25: 70,000 requests and 10,000 files
 *
 * Prints each property's cases and time; a failure prints fast-check's counterexample and
 * the seed that reproduces it (FUZZ_SEED=… FUZZ_SCALE=… node bench/fuzz.js).
 */
import {spawnSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'

const scale = Number(process.argv[2] ?? process.env.FUZZ_SCALE ?? 25)
const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))
const root = fileURLToPath(new URL('..', import.meta.url))
const files = ['dist/test/fuzz/listeners.test.js', 'dist/test/fuzz/declarative.test.js']
console.log(`fuzz: scale ${scale} (CI counts × ${scale}), seed ${seed}`)
const started = Date.now()
const res = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: {...process.env, FUZZ_SCALE: String(scale), FUZZ_SEED: String(seed)},
})
console.log(`fuzz: ${res.status === 0 ? 'no failure' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(0)} s; cases: Admin API ${2000 * scale}, proxy ${500 * scale}, status ${300 * scale}, files ${400 * scale} (seed ${seed})`)
process.exit(res.status ?? 1)
