#!/usr/bin/env node
/**
 * CLI cold start: `kctl --version`, and `kctl nodes --json` / `kctl status --json` both
 * without a cluster (they answer SPEC_NOT_FOUND: start-up alone) and against a running
 * embedded cluster that this script makes with `kctl init` on free ports (start-up plus
 * reading the state and asking the node), next to `node -e 0`. Commands run interleaved
 * (A B C … A B C …) so drift on a shared machine hits each alike; medians in ms.
 *
 *   npm run build && node bench/cli.js      # BENCH_RUNS=30 rounds after 3 warm-up rounds
 */
import {spawnSync} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {freePort, stopAll, stopOnExit, tempDir} from './lib/proc.js'
import {fmt, interleave, machine, markdownTable, median} from './lib/stats.js'

const RUNS = Number(process.env.BENCH_RUNS ?? 30)
const WARMUP = 3
const KCTL = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const node = process.execPath

stopOnExit()
const empty = tempDir('kctl-cli-bench-')
const clusterDir = tempDir('kctl-cli-bench-cluster-')
const env = {...process.env, KCTL_DATA_DIR: join(clusterDir, 'data'), CI: 'true'}
const kctl = (cwd, ...args) => spawnSync(node, [KCTL, ...args], {cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})

// A real embedded cluster, on ports nobody else uses.
const work = join(clusterDir, 'work')
mkdirSync(work, {recursive: true})
const [proxy, proxySsl, admin, status] = [await freePort(), await freePort(), await freePort(), await freePort()]
writeFileSync(join(work, 'kctl.yaml'), `apiVersion: kctl/v1
kind: Cluster
metadata: {name: bench}
spec:
  mode: embedded
  database: {embedded: true}
  nodes:
    - name: node-1
      role: traditional
      proxy_listen: 127.0.0.1:${proxy}, 127.0.0.1:${proxySsl} ssl
      admin_listen: 127.0.0.1:${admin}
      status_listen: 127.0.0.1:${status}
`)
const init = kctl(work, 'init')
if (init.status !== 0) {
  console.error(`kctl init failed:\n${init.stdout}${init.stderr}`)
  process.exit(1)
}
const destroy = () => kctl(work, 'destroy', '--yes')

const COMMANDS = [
  {name: 'node -e 0', cwd: empty, argv: ['-e', '0']},
  {name: 'kctl --version', cwd: empty, argv: [KCTL, '--version']},
  {name: 'kctl nodes --json (no cluster)', cwd: empty, argv: [KCTL, 'nodes', '--json']},
  {name: 'kctl status --json (no cluster)', cwd: empty, argv: [KCTL, 'status', '--json']},
  {name: 'kctl nodes --json (running cluster)', cwd: work, argv: [KCTL, 'nodes', '--json'], ok: true},
  {name: 'kctl status --json (running cluster)', cwd: work, argv: [KCTL, 'status', '--json'], ok: true},
]

let results
try {
  const times = await interleave(COMMANDS, RUNS + WARMUP, async (c) => {
    const t0 = process.hrtime.bigint()
    const r = spawnSync(node, c.argv, {cwd: c.cwd, env, stdio: 'ignore'})
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    if (c.ok && r.status !== 0) throw new Error(`${c.name} exited ${r.status}`)
    return ms
  })
  results = COMMANDS.map((c) => {
    const xs = times.get(c.name).slice(WARMUP)
    return {name: c.name, median: median(xs), min: Math.min(...xs)}
  })
} finally {
  destroy()
  await stopAll()
}
const base = results[0].median
console.log(`Machine: ${machine()}. ${RUNS} interleaved rounds after ${WARMUP} warm-up rounds.\n`)
console.log(markdownTable(['command', 'median ms', 'min ms', 'minus node -e 0', 'target'],
  results.map((r) => [r.name, fmt.ms(r.median), fmt.ms(r.min), r === results[0] ? '—' : fmt.ms(r.median - base), r.name === 'kctl --version' ? (r.median < 250 ? 'met (< 250 ms)' : `missed by ${fmt.ms(r.median - 250)} ms`) : ''])))
