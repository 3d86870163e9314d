#!/usr/bin/env node
/**
 * What kctl's proxy leaves for the old generation under a fixed-rate load: each target runs
 * with `--trace-gc-nvp`, h2load sends 50 keep-alive connections at a fixed rate, and every
 * scavenge's promoted bytes and pause are read from the target's output. A proxy whose
 * per-request objects all die young promotes next to nothing; one that promotes a share of
 * what it allocates pays scavenges of several ms and a mark-compact every few seconds,
 * which is where its p99 goes. The Node peers run alongside for comparison.
 *
 *   node bench/gc-promotion.js
 *   BENCH_SEMI=16 BENCH_ONLY=kctl-1,kctl-1-404 node bench/gc-promotion.js
 *
 * Targets: kctl-1 (proxied, 200), kctl-1-404 (the same proxy, a path no route matches: the
 * gateway's own error response), kctl-plugins, http-proxy, node-http; `-baseline` twins
 * with BENCH_BASELINE as in bench/proxy.js. BENCH_SEMI=<MiB> starts every target with that
 * young generation (`--min-semi-space-size`), the size at which the effect shows at once;
 * with V8's default it shows once the young generation has grown to it. BENCH_RATE (3000
 * req/s), BENCH_SECONDS (10). Proxies pinned to CPU 0, h2load and the origin to the last CPU.
 */
import {availableParallelism} from 'node:os'
import {join} from 'node:path'
import {ensureLoadTools, runH2load} from './lib/h2load.js'
import {startOrigin} from './lib/nginx.js'
import {freePort, stopAll, stopOnExit, tempDir} from './lib/proc.js'
import {fmt, machine, markdownTable, median, percentile} from './lib/stats.js'
import {runWrk} from './lib/wrk.js'
import {startTarget} from './proxy.js'

const env = (k, d) => (process.env[k] === undefined ? d : process.env[k])
const BASELINE = process.env.BENCH_BASELINE
const only = env('BENCH_ONLY', '') ? env('BENCH_ONLY', '').split(',') : ['kctl-1', ...(BASELINE ? ['kctl-1-baseline'] : []), 'kctl-1-404', ...(BASELINE ? ['kctl-1-404-baseline'] : []), 'kctl-plugins', 'http-proxy', 'node-http']
const rate = Number(env('BENCH_RATE', 3000))
const seconds = Number(env('BENCH_SECONDS', 10))
const semi = env('BENCH_SEMI', '')
const connections = 50
const pin = availableParallelism() > 1
const proxyCpu = pin ? '0' : undefined
const loadCpu = pin ? String(availableParallelism() - 1) : undefined

/** The name/value pairs of `--trace-gc-nvp` lines for scavenges (`gc=s`), or with `full`, for the full collections (`gc=ms`/`gc=mc`). */
function scavenges(output, full = false) {
  const out = []
  for (const line of output.split('\n')) {
    if (!(full ? /\bgc=m[sc]\b/ : /\bgc=s\b/).test(line)) continue
    const f = Object.fromEntries(line.trim().split(/\s+/).map((kv) => kv.split('=')))
    out.push({pause: Number(f.pause), promoted: Number(f.promoted), allocated: Number(f.allocated)})
  }
  return out
}

async function main() {
  stopOnExit()
  ensureLoadTools()
  const originPort = await freePort()
  await startOrigin(originPort, loadCpu)
  const dir = tempDir('kctl-gc-')
  const rows = []
  for (const name of only) {
    const kind = name.replace('-404', '')
    const nodeArgs = kind === 'nginx' ? [] : ['--trace-gc-nvp', ...(semi ? [`--min-semi-space-size=${semi}`] : [])]
    const t = await startTarget(kind, originPort, {cpus: proxyCpu, nodeArgs})
    // the GC lines, all of them (the process handle keeps only the last few KiB)
    let output = ''
    t.proc.child.stdout.on('data', (b) => (output += b.toString()))
    const url = name.includes('-404') ? t.url.replace('/bench/hello', '/no-route-here') : t.url
    await runWrk({url, headers: t.headers, seconds: 2, connections, cpus: loadCpu})
    const before = scavenges(output).length
    const fullBefore = scavenges(output, true).length
    const log = join(dir, `${name}.log`)
    const {ms} = await runH2load({url, headers: t.headers, rate, seconds, connections, log, cpus: loadCpu})
    const during = scavenges(output).slice(before)
    const full = scavenges(output, true).slice(fullBefore)
    await t.proc.stop()
    const promotedShare = during.reduce((a, s) => a + s.promoted, 0) / Math.max(1, during.reduce((a, s) => a + s.allocated, 0))
    rows.push([name, String(during.length), fmt.int(median(during.map((s) => s.promoted)) / 1024), `${(100 * promotedShare).toFixed(1)} %`, fmt.ms(median(during.map((s) => s.pause))), fmt.ms(Math.max(0, ...during.map((s) => s.pause))), `${full.length}${full.length ? ` (longest ${fmt.ms(Math.max(...full.map((s) => s.pause)))} ms)` : ''}`, fmt.ms(percentile(ms, 50)), fmt.ms(percentile(ms, 99))])
    process.stderr.write(`${name}: ${during.length} scavenges, promoted median ${rows.at(-1)[2]} KiB, pause median ${rows.at(-1)[4]} ms, full GCs ${rows.at(-1)[6]}, p99 ${rows.at(-1)[8]} ms\n`)
  }
  await stopAll()
  console.log([
    `Machine: ${machine()}. ${rate} req/s for ${seconds} s per target (h2load --h1 -c ${connections}), one target at a time${semi ? `; every Node target started with --min-semi-space-size=${semi}` : ''}.`,
    '',
    markdownTable(['target', 'scavenges', 'promoted per scavenge, KiB (median)', 'promoted / allocated', 'scavenge pause ms (median)', 'longest pause ms', 'full GCs', 'p50 ms', 'p99 ms'], rows),
  ].join('\n'))
}

main().catch(async (err) => {
  console.error(err.stack ?? err)
  await stopAll()
  process.exit(1)
})
