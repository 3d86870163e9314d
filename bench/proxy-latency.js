#!/usr/bin/env node
/**
 * Proxy latency at a fixed request rate: every target gets the same rate, 70 % of the
 * slowest target's maximum (measured first with wrk, as bench/proxy.js does), so the tails
 * compare the proxies rather than the queue a saturated closed loop builds up.
 *
 *   node bench/proxy-latency.js        # default targets, 3 rounds × 10 s (about 4 min)
 *   BENCH_RATE=6000 BENCH_ONLY=kctl-1,http-proxy BENCH_ROUNDS=2 node bench/proxy-latency.js
 *
 * Load: h2load (Debian's nghttp2-client) `--h1 -c 50 --rps <rate/50>`, 50 keep-alive
 * connections, each sending at its share of the rate; per-request latencies from its
 * `--log-file`, percentiles computed here. h2load sends a connection's next request when the
 * previous one is answered, so a stalled connection falls behind its schedule instead of
 * queueing; at 70 % of every target's maximum that stays rare (see `behind` below).
 * Layout as bench/proxy.js: proxies pinned to CPU 0, h2load and the nginx origin to the last
 * CPU. Rounds are interleaved (A B C … A B C …), medians over the rounds.
 *
 * Knobs: BENCH_ONLY, BENCH_ROUNDS (3), BENCH_SECONDS (10), BENCH_RATE (skip the maximum
 * runs), BENCH_FRACTION (0.7), BENCH_BASELINE (as bench/proxy.js).
 */
import {availableParallelism} from 'node:os'
import {join} from 'node:path'
import {ensureLoadTools, runH2load} from './lib/h2load.js'
import {startOrigin} from './lib/nginx.js'
import {freePort, stopAll, stopOnExit, tempDir} from './lib/proc.js'
import {bestPerRound, fmt, interleave, machine, markdownTable, median, pairedRatio, percentile} from './lib/stats.js'
import {runWrk} from './lib/wrk.js'
import {startTarget} from './proxy.js'

const env = (k, d) => (process.env[k] === undefined ? d : process.env[k])
const BASELINE = process.env.BENCH_BASELINE
const DEFAULT = ['nginx', 'kctl-1', ...(BASELINE ? ['kctl-1-baseline'] : []), 'kctl-plugins', ...(BASELINE ? ['kctl-plugins-baseline'] : []), 'fastify', 'fast-gateway', 'http-proxy', 'node-http']
const only = env('BENCH_ONLY', '') ? env('BENCH_ONLY', '').split(',') : DEFAULT
const rounds = Number(env('BENCH_ROUNDS', 3))
const seconds = Number(env('BENCH_SECONDS', 10))
const fraction = Number(env('BENCH_FRACTION', 0.7))
const connections = 50
const NODE_PEERS = ['fastify', 'fast-gateway', 'http-proxy']
const pin = availableParallelism() > 1
const proxyCpu = pin ? '0' : undefined
const loadCpu = pin ? String(availableParallelism() - 1) : undefined
const LABEL = {
  nginx: 'nginx reverse proxy (keep-alive upstream)',
  'kctl-1': 'kctl, 1 route',
  'kctl-1-baseline': 'kctl, 1 route, baseline build',
  'kctl-plugins': 'kctl, 1 route, key-auth + rate-limiting (local)',
  'kctl-plugins-baseline': 'kctl, key-auth + rate-limiting, baseline build',
  fastify: 'fastify + @fastify/http-proxy',
  'fast-gateway': 'fast-gateway',
  'http-proxy': 'http-proxy',
  'node-http': 'plain Node http answering itself',
}

/** One h2load run at `rate` req/s in all; latencies in ms from its per-request log. */
async function measure(t, rate, dir, n) {
  const {ms, bad, failed} = await runH2load({url: t.url, headers: t.headers, rate, seconds, connections, log: join(dir, `${t.name}-${n}.log`), cpus: loadCpu})
  const sent = ms.length
  return {p50: percentile(ms, 50), p99: percentile(ms, 99), p999: percentile(ms, 99.9), max: ms[ms.length - 1], errors: bad + failed, done: sent, behind: 1 - sent / (rate * seconds)}
}

async function main() {
  stopOnExit()
  ensureLoadTools()
  const originPort = await freePort()
  await startOrigin(originPort, loadCpu)
  const targets = []
  for (const name of only) targets.push(await startTarget(name, originPort, {cpus: proxyCpu}))
  process.stderr.write(`warming up ${targets.length} targets…\n`)
  for (const t of targets) await runWrk({url: t.url, headers: t.headers, seconds: 2, connections, cpus: loadCpu})
  const max = new Map()
  for (const t of targets) max.set(t.name, (await runWrk({url: t.url, headers: t.headers, seconds: 3, connections, cpus: loadCpu})).rps)
  let rate = Number(env('BENCH_RATE', 0))
  let slowest = null
  if (!rate) {
    slowest = [...max].sort((a, b) => a[1] - b[1])[0]
    rate = Math.round((slowest[1] * fraction) / connections) * connections
  }
  process.stderr.write(`maximum req/s: ${[...max].map(([n, r]) => `${n} ${Math.round(r)}`).join(', ')}; fixed rate ${rate} req/s\n`)
  const dir = tempDir('kctl-latency-')
  let n = 0
  const results = await interleave(targets, rounds, (t) => measure(t, rate, dir, n++),
    (t, r, res) => process.stderr.write(`round ${r + 1} ${t.name}: p50 ${fmt.ms(res.p50)} p99 ${fmt.ms(res.p99)} p99.9 ${fmt.ms(res.p999)} max ${fmt.ms(res.max)} ms, ${res.done} done, ${res.errors} errors\n`))
  await stopAll()
  // per round, the Node peer with the lowest p99: each target's p99 against it, and how many
  // rounds the target's p99 was at most every Node peer's
  const p99 = (r) => r.p99
  const bestPeer = bestPerRound(results, NODE_PEERS, p99, (x, y) => x < y)
  const rows = [...results].map(([name, runs]) => [
    LABEL[name] ?? name, fmt.int(max.get(name)), fmt.ms(median(runs.map((r) => r.p50))), fmt.ms(median(runs.map((r) => r.p99))),
    bestPeer.length ? fmt.ratio(pairedRatio(runs, bestPeer, p99)) : '—',
    bestPeer.length ? `${runs.filter((r, i) => r.p99 <= bestPeer[i].p99).length} of ${runs.length}` : '—',
    fmt.ms(median(runs.map((r) => r.p999))), fmt.ms(Math.max(...runs.map((r) => r.max))), `${(100 * median(runs.map((r) => r.behind))).toFixed(1)} %`, String(runs.reduce((a, r) => a + r.errors, 0)),
  ])
  console.log([
    `Machine: ${machine()}. Fixed rate ${rate} req/s for every target (${slowest ? `${Math.round(fraction * 100)} % of the slowest target's maximum, ${LABEL[slowest[0]] ?? slowest[0]}` : 'BENCH_RATE'}), ` +
      `h2load --h1 -c ${connections}, ${seconds} s × ${rounds} rounds, interleaved; proxies pinned to CPU ${proxyCpu ?? '—'}, h2load and the origin to CPU ${loadCpu ?? '—'}.`,
    '',
    markdownTable(['target', 'max req/s (wrk, 3 s)', 'p50 ms', 'p99 ms (median of rounds)', 'p99 vs the round\'s best Node peer (median)', 'rounds with p99 ≤ every Node peer\'s', 'p99.9 ms', 'max ms (all rounds)', 'behind schedule', 'errors'], rows),
  ].join('\n'))
}

main().catch(async (err) => {
  console.error(err.stack ?? err)
  await stopAll()
  process.exit(1)
})
