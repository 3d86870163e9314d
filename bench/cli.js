#!/usr/bin/env node
/**
 * CLI cold start: `kctl --version`, `kctl nodes --json` and `kctl status --json` (no
 * cluster: they answer SPEC_NOT_FOUND, exit status ignored) next to `node -e 0`, run from
 * an empty temp dir. hyperfine when present (installed from Debian's packages if missing
 * and apt works), else our own loop; medians in ms.
 *
 *   node bench/cli.js             # BENCH_RUNS=30 per command
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {stopAll, stopOnExit, tempDir} from './lib/proc.js'
import {fmt, machine, markdownTable, median} from './lib/stats.js'
import {ensureTool, has} from './lib/tools.js'

const RUNS = Number(process.env.BENCH_RUNS ?? 30)
const KCTL = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const node = process.execPath
const COMMANDS = [
  ['node -e 0', [node, '-e', '0']],
  ['kctl --version', [node, KCTL, '--version']],
  ['kctl nodes --json', [node, KCTL, 'nodes', '--json']],
  ['kctl status --json', [node, KCTL, 'status', '--json']],
]
const quote = (a) => `'${a.replace(/'/g, `'\\''`)}'`

function withHyperfine(cwd) {
  const out = join(cwd, 'hyperfine.json')
  const args = ['-N', '-i', '--warmup', '3', '--runs', String(RUNS), '--export-json', out, '--style', 'none']
  for (const [name, argv] of COMMANDS) args.push('-n', name, argv.map(quote).join(' '))
  execFileSync('hyperfine', args, {cwd, stdio: ['ignore', 'ignore', 'inherit']})
  return JSON.parse(readFileSync(out, 'utf8')).results.map((r) => ({name: r.command, median: r.median * 1000, min: r.min * 1000}))
}

function withLoop(cwd) {
  return COMMANDS.map(([name, [cmd, ...args]]) => {
    const times = []
    for (let i = 0; i < RUNS + 3; i++) {
      const t0 = process.hrtime.bigint()
      spawnSync(cmd, args, {cwd, stdio: 'ignore'})
      if (i >= 3) times.push(Number(process.hrtime.bigint() - t0) / 1e6)
    }
    return {name, median: median(times), min: Math.min(...times)}
  })
}

stopOnExit()
const cwd = tempDir('kctl-cli-bench-')
let tool = 'hyperfine'
try {
  ensureTool('hyperfine')
} catch {
  tool = 'own loop'
}
const results = tool === 'hyperfine' && has('hyperfine') ? withHyperfine(cwd) : withLoop(cwd)
await stopAll()
const base = results[0].median
console.log(`Machine: ${machine()}. ${tool}, ${RUNS} runs after 3 warm-ups, from an empty directory (no cluster).\n`)
console.log(markdownTable(['command', 'median ms', 'min ms', 'minus node -e 0', 'target'],
  results.map((r) => [r.name, fmt.ms(r.median), fmt.ms(r.min), r === results[0] ? '—' : fmt.ms(r.median - base), r.name === 'kctl --version' ? (r.median < 250 ? 'met (< 250 ms)' : `missed by ${fmt.ms(r.median - 250)} ms`) : ''])))
