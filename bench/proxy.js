#!/usr/bin/env node
/**
 * Proxy throughput and latency: kctl's proxy next to nginx and the Node peers, in the same
 * run, interleaved over rounds, medians reported (see BENCHMARKS.md).
 *
 *   node bench/proxy.js            # 3 s × 5 rounds, every target (about 3 min)
 *   BENCH_SECONDS=3 BENCH_ROUNDS=2 BENCH_ONLY=kctl-1,node-http node bench/proxy.js
 *
 * Layout on the machine: every proxy pinned to CPU 0; wrk and the nginx origin to the
 * last CPU (BENCH_PIN=0 turns pinning off), except kctl with 2 workers, which needs both
 * CPUs and so shares them with wrk. 50 connections, 1 wrk thread.
 *
 * Each run also reads the target's CPU time: where wrk and the origin's core saturate first,
 * req/s is the bed's limit, and requests per CPU-second is the target's own.
 */
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {startNginxProxy, startOrigin} from './lib/nginx.js'
import {freePort, startProcess, stopAll, stopOnExit, treeTimes, waitForPort} from './lib/proc.js'
import {bestPerRound, fmt, interleave, machine, markdownTable, median, pairedRatio} from './lib/stats.js'
import {ensureTool} from './lib/tools.js'
import {runWrk} from './lib/wrk.js'
import {availableParallelism} from 'node:os'

const TARGETS_SCRIPT = fileURLToPath(new URL('./proxy-targets.js', import.meta.url))
const NODE_PEERS = ['fastify', 'fast-gateway', 'http-proxy']
// BENCH_BASELINE=<dir of another build's dist/>: adds kctl-1 from that build, for before/after;
// that build's own bench/proxy-targets.js starts it when it has one (its dist/ has its layout)
const BASELINE = process.env.BENCH_BASELINE
const BASELINE_TARGETS = BASELINE && existsSync(join(BASELINE, '..', 'bench', 'proxy-targets.js')) ? join(BASELINE, '..', 'bench', 'proxy-targets.js') : TARGETS_SCRIPT
const ALL = ['nginx', 'kctl-1', 'kctl-1-w2', ...(BASELINE ? ['kctl-1-baseline'] : []), 'kctl-1000', 'kctl-plugins', ...(BASELINE ? ['kctl-plugins-baseline'] : []), ...NODE_PEERS, 'node-http']
const LABEL = {
  nginx: 'nginx reverse proxy (keep-alive upstream)',
  'kctl-1': 'kctl, 1 route',
  'kctl-1-w2': 'kctl, 1 route, node_worker_processes = 2',
  'kctl-1-baseline': 'kctl, 1 route, baseline build (BENCH_BASELINE)',
  'kctl-plugins-baseline': 'kctl, 1 route, key-auth + rate-limiting (local), baseline build (BENCH_BASELINE)',
  'kctl-1000': 'kctl, 1,000 routes (matches the last)',
  'kctl-plugins': 'kctl, 1 route, key-auth + rate-limiting (local)',
  fastify: 'fastify + @fastify/http-proxy',
  'fast-gateway': 'fast-gateway',
  'http-proxy': 'http-proxy',
  'node-http': 'plain Node http answering itself',
}

const env = (k, d) => (process.env[k] === undefined ? d : process.env[k])
const seconds = Number(env('BENCH_SECONDS', 3))
const rounds = Number(env('BENCH_ROUNDS', 5))
const connections = Number(env('BENCH_CONNECTIONS', 50))
const only = env('BENCH_ONLY', '') ? env('BENCH_ONLY', '').split(',') : ALL
const pin = env('BENCH_PIN', '1') !== '0' && availableParallelism() > 1
const proxyCpu = pin ? '0' : undefined
const loadCpu = pin ? String(availableParallelism() - 1) : undefined

/** Starts one target; `extraArgs` go to node (e.g. --cpu-prof). */
export async function startTarget(name, originPort, {cpus, nodeArgs = []} = {}) {
  const port = await freePort()
  const proc = name === 'nginx'
    ? await startNginxProxy(port, originPort, cpus)
    : name.endsWith('-baseline')
      ? startProcess(name, process.execPath, [...nodeArgs, BASELINE_TARGETS, name.replace(/-baseline$/, ''), String(port), String(originPort)], {cpus, env: {KCTL_DIST: BASELINE}})
      : startProcess(name, process.execPath, [...nodeArgs, TARGETS_SCRIPT, name, String(port), String(originPort)], {cpus})
  await waitForPort(port, 20_000, proc)
  const url = `http://127.0.0.1:${port}/bench/hello`
  const headers = name.startsWith('kctl-plugins') ? {apikey: 'bench-key'} : {}
  return {name, port, proc, url, headers}
}

async function main() {
  stopOnExit()
  ensureTool('wrk')
  const originPort = await freePort()
  await startOrigin(originPort, loadCpu)
  const targets = []
  // 2 workers need both cores, so that target is never pinned: it shares them with wrk.
  for (const name of ALL.filter((n) => only.includes(n))) targets.push(await startTarget(name, originPort, {cpus: name === 'kctl-1-w2' ? undefined : proxyCpu}))
  process.stderr.write(`warming up ${targets.length} targets…\n`)
  for (const t of targets) await runWrk({url: t.url, headers: t.headers, seconds: 2, connections, cpus: loadCpu})
  // each run also reads the target's CPU time (its processes' user + system, /proc): req/s
  // is capped by whatever saturates first (wrk and the origin share a core), requests per
  // CPU-second by the target alone
  // CPU time splits into user (the target's own code) and kernel (its sockets' work, which
  // for a proxy is twice that of a server answering itself: two reads and two writes a request)
  const measure = async (t) => {
    const before = treeTimes(t.proc.pid)
    const res = await runWrk({url: t.url, headers: t.headers, seconds, connections, cpus: loadCpu})
    const after = treeTimes(t.proc.pid)
    const user = (after.user - before.user) / 100
    const kernel = (after.system - before.system) / 100
    const cpuSeconds = user + kernel
    return {...res, busy: cpuSeconds / seconds, perCpuSecond: res.requests / cpuSeconds, userUs: (user * 1e6) / res.requests, kernelUs: (kernel * 1e6) / res.requests}
  }
  const results = await interleave(targets, rounds, measure,
    (t, r, res) => process.stderr.write(`round ${r + 1} ${t.name}: ${Math.round(res.rps)} req/s p50 ${res.p50} ms p99 ${res.p99} ms, ${Math.round(res.busy * 100)} % CPU, ${Math.round(res.perCpuSecond)} req per CPU-s${res.non2xx || res.socketErrors ? ` (${res.non2xx} non-2xx, ${res.socketErrors} socket errors)` : ''}\n`))
  await stopAll()
  console.log(report(results))
}

function report(results) {
  const m = new Map()
  for (const [name, runs] of results) {
    m.set(name, {
      rps: median(runs.map((r) => r.rps)), p50: median(runs.map((r) => r.p50)), p99: median(runs.map((r) => r.p99)),
      busy: median(runs.map((r) => r.busy)), perCpuSecond: median(runs.map((r) => r.perCpuSecond)),
      userUs: median(runs.map((r) => r.userUs)), kernelUs: median(runs.map((r) => r.kernelUs)),
      errors: runs.reduce((a, r) => a + r.non2xx + r.socketErrors, 0),
    })
  }
  const fastest = NODE_PEERS.filter((n) => m.has(n)).sort((a, b) => m.get(b).rps - m.get(a).rps)[0]
  const leanest = NODE_PEERS.filter((n) => m.has(n)).sort((a, b) => m.get(b).perCpuSecond - m.get(a).perCpuSecond)[0]
  // every ratio is the median of per-round ratios: a target against the other's run of the same round
  const peerRuns = bestPerRound(results, NODE_PEERS, (r) => r.rps)
  const leanRuns = bestPerRound(results, NODE_PEERS, (r) => r.perCpuSecond)
  const against = (runs, other, pick) => (other?.length ? fmt.ratio(pairedRatio(runs, other, pick)) : '—')
  const rps = (r) => r.rps
  const perCpu = (r) => r.perCpuSecond
  const rows = [...m].map(([name, r]) => {
    const runs = results.get(name)
    return [
      LABEL[name], fmt.int(r.rps), fmt.ms(r.p50), fmt.ms(r.p99),
      against(runs, results.get('nginx'), rps), against(runs, peerRuns, rps), against(runs, peerRuns, (x) => x.p99),
      `${Math.round(r.busy * 100)} %`, fmt.int(r.perCpuSecond), against(runs, leanRuns, perCpu), against(runs, results.get('node-http'), perCpu),
      r.userUs.toFixed(1), r.kernelUs.toFixed(1), against(runs, results.get('node-http'), (x) => x.kernelUs), String(r.errors),
    ]
  })
  return [
    `Machine: ${machine()}. ${seconds} s per run × ${rounds} rounds, interleaved; wrk -t1 -c${connections} --latency; ` +
      (pin ? `proxies pinned to CPU ${proxyCpu}, wrk and the nginx origin to CPU ${loadCpu} (taskset).` : 'no CPU pinning.'),
    `kctl runs 1 process except the node_worker_processes = 2 row${pin ? ', which is not pinned (its 2 workers share both CPUs with wrk and the origin)' : ''}; ` +
      `${m.has('kctl-1') && m.has('kctl-1-w2') ? `2 workers / 1 worker: ${fmt.ratio(pairedRatio(results.get('kctl-1-w2'), results.get('kctl-1'), rps))}. ` : ''}` +
      `Ratios are medians of per-round ratios, each against the other's run in the same round; "the fastest Node peer" is the fastest of that round ` +
      `(over all rounds: ${fastest ? LABEL[fastest] : '—'}), and so is the one with the most requests per CPU-second (over all rounds: ${leanest ? LABEL[leanest] : '—'}). ` +
      `CPU: the target's processes (not wrk's, not the origin's), user + system; user and kernel µs are that CPU time per request, split ` +
      `(/proc, 10 ms ticks), and "kernel vs plain Node" compares the kernel's part with the plain Node server's in the same round.`,
    '',
    markdownTable(['target', 'req/s (median)', 'p50 ms', 'p99 ms', 'vs nginx', 'vs fastest Node peer', 'p99 vs that peer', 'CPU', 'req per CPU-second', 'per CPU-s vs best Node peer', 'per CPU-s vs plain Node', 'user µs/req', 'kernel µs/req', 'kernel vs plain Node', 'errors'], rows),
  ].join('\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch(async (err) => {
    console.error(err.stack ?? err)
    await stopAll()
    process.exit(1)
  })
}
