#!/usr/bin/env node
/**
 * CPU time per proxied request: the proxy process's user + system time (/proc) over a wrk
 * run divided by the requests served. Steadier than req/s on a shared machine, where wrk
 * and the origin's core also limit throughput. Targets are run interleaved, medians printed.
 *
 *   BENCH_BASELINE=<another build's dist/> node bench/proxy-cpu.js 8 5 kctl-1 kctl-1-baseline
 *   node bench/proxy-cpu.js [rounds=5] [seconds=5] [targets… = kctl-1 http-proxy]
 *
 * Linux only (/proc); the proxy is pinned to CPU 0, wrk and the origin to CPU 1.
 */
import {readFileSync} from 'node:fs'
import {startOrigin} from './lib/nginx.js'
import {freePort, stopAll, stopOnExit} from './lib/proc.js'
import {ensureTool} from './lib/tools.js'
import {runWrk} from './lib/wrk.js'
import {startTarget} from './proxy.js'

const [rounds = '5', secs = '5', ...rest] = process.argv.slice(2)
const names = rest.length ? rest : ['kctl-1', 'http-proxy']
/** utime + stime of a process, in clock ticks (10 ms on Linux). */
const ticks = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return Number(f[11]) + Number(f[12])
}

async function main() {
  stopOnExit()
  ensureTool('wrk')
  const originPort = await freePort()
  await startOrigin(originPort, '1')
  const res = {}
  for (let r = 0; r < Number(rounds); r++) {
    for (const n of names) {
      const t = await startTarget(n, originPort, {cpus: '0'})
      await runWrk({url: t.url, headers: t.headers, seconds: 1, connections: 50, cpus: '1'}) // warm-up
      const a = ticks(t.proc.pid)
      const w = await runWrk({url: t.url, headers: t.headers, seconds: Number(secs), connections: 50, cpus: '1'})
      const us = ((ticks(t.proc.pid) - a) * 10_000) / (w.rps * Number(secs))
      ;(res[n] ??= []).push(us)
      console.log(`round ${r + 1} ${n}: ${Math.round(w.rps)} req/s, ${us.toFixed(1)} µs CPU/request`)
      await t.proc.stop('SIGTERM', 5000)
    }
  }
  for (const [n, v] of Object.entries(res)) {
    v.sort((x, y) => x - y)
    console.log(`${n}: median ${v[v.length >> 1].toFixed(1)} µs CPU/request (${v.map((x) => x.toFixed(1)).join(', ')})`)
  }
}

main().catch((err) => {
  console.error(err.stack ?? err)
  process.exitCode = 1
}).finally(() => stopAll())
