#!/usr/bin/env node
/**
 * CPU time per proxied request: the proxy's processes' user + system time (/proc) over a wrk
 * run divided by the requests served. Steadier than req/s on a shared machine, where wrk
 * and the origin's core also limit throughput. Targets are run interleaved (every other round
 * in reverse order, so neither goes always first), medians printed.
 *
 *   BENCH_BASELINE=<another build's dist/> node bench/proxy-cpu.js 8 5 kctl-1 kctl-1-baseline
 *   node bench/proxy-cpu.js [rounds=5] [seconds=5] [targets… = kctl-1 http-proxy]
 *
 * With a target and its `-baseline` twin (the same proxy from the BENCH_BASELINE build), each
 * round also prints their ratio (this build / baseline, CPU per request: below 1 is less CPU),
 * and at the end the median of those per-round ratios, which a busy machine skews less than the
 * ratio of two medians.
 *
 * BENCH_TOGETHER=1 runs the targets of a round at the same time instead (all pinned to CPU 0,
 * one wrk each on CPU 1): on a machine busy with other work, they then share the same
 * disturbance, and their ratio is steadier than that of two runs one after the other.
 *
 * Linux only (/proc); the proxy is pinned to CPU 0, wrk and the origin to CPU 1.
 */
import {startOrigin} from './lib/nginx.js'
import {freePort, stopAll, stopOnExit, treeTicks as ticks} from './lib/proc.js'
import {ensureTool} from './lib/tools.js'
import {runWrk} from './lib/wrk.js'
import {startTarget} from './proxy.js'

const [rounds = '5', secs = '5', ...rest] = process.argv.slice(2)
const names = rest.length ? rest : ['kctl-1', 'http-proxy']

async function main() {
  stopOnExit()
  ensureTool('wrk')
  const originPort = await freePort()
  await startOrigin(originPort, '1')
  const res = {}
  for (let r = 0; r < Number(rounds); r++) {
    if (process.env.BENCH_TOGETHER === '1') await together(r, originPort, res)
    else for (const n of r % 2 ? [...names].reverse() : names) {
      const t = await startTarget(n, originPort, {cpus: '0'})
      await runWrk({url: t.url, headers: t.headers, seconds: 1, connections: 50, cpus: '1'}) // warm-up
      const a = ticks(t.proc.pid)
      const w = await runWrk({url: t.url, headers: t.headers, seconds: Number(secs), connections: 50, cpus: '1'})
      const us = ((ticks(t.proc.pid) - a) * 10_000) / (w.rps * Number(secs))
      ;(res[n] ??= []).push(us)
      console.log(`round ${r + 1} ${n}: ${Math.round(w.rps)} req/s, ${us.toFixed(1)} µs CPU/request`)
      await t.proc.stop('SIGTERM', 5000)
    }
    for (const n of names) {
      const base = res[`${n}-baseline`]
      if (base?.length === r + 1) console.log(`round ${r + 1} ${n} / ${n}-baseline: ${(res[n][r] / base[r]).toFixed(3)}`)
    }
  }
  const ratios = {}
  for (const n of names) if (res[`${n}-baseline`]) ratios[n] = res[n].map((us, i) => us / res[`${n}-baseline`][i]).sort((x, y) => x - y)
  for (const [n, v] of Object.entries(res)) {
    v.sort((x, y) => x - y)
    console.log(`${n}: median ${v[v.length >> 1].toFixed(1)} µs CPU/request (${v.map((x) => x.toFixed(1)).join(', ')})`)
  }
  for (const [n, v] of Object.entries(ratios)) {
    console.log(`${n} / ${n}-baseline: median ratio ${v[v.length >> 1].toFixed(3)} (${v.map((x) => x.toFixed(3)).join(', ')}; below 1 in ${v.filter((x) => x < 1).length} of ${v.length} rounds)`)
  }
}

/** One round with every target under load at once; CPU per request from each one's own requests. */
async function together(r, originPort, res) {
  const targets = []
  for (const n of names) targets.push(await startTarget(n, originPort, {cpus: '0'}))
  const load = (t, seconds) => runWrk({url: t.url, headers: t.headers, seconds, connections: 50, cpus: '1'})
  await Promise.all(targets.map((t) => load(t, 1))) // warm-up
  const before = targets.map((t) => ticks(t.proc.pid))
  const runs = await Promise.all(targets.map((t) => load(t, Number(secs))))
  targets.forEach((t, i) => {
    const us = ((ticks(t.proc.pid) - before[i]) * 10_000) / runs[i].requests
    ;(res[t.name] ??= []).push(us)
    console.log(`round ${r + 1} ${t.name}: ${Math.round(runs[i].rps)} req/s, ${us.toFixed(1)} µs CPU/request`)
  })
  await Promise.all(targets.map((t) => t.proc.stop('SIGTERM', 5000)))
}

main().catch((err) => {
  console.error(err.stack ?? err)
  process.exitCode = 1
}).finally(() => stopAll())
