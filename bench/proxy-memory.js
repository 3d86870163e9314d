#!/usr/bin/env node
/**
 * Memory of a data-plane node: a DB-less node (the runtime a DP runs; its configuration comes
 * by `POST /config` here instead of from a control plane) with 10,000 services and routes,
 * its RSS idle, then under proxy traffic in segments, to see whether it grows.
 *
 *   node bench/proxy-memory.js                  # 10,000 routes, 4 segments of 15 s
 *   BENCH_ROUTES=10000 BENCH_SEGMENTS=8 BENCH_SECONDS=30 node bench/proxy-memory.js
 *   BENCH_REQUESTS=1000000 BENCH_SECONDS=60 node bench/proxy-memory.js   # a soak: segments until a million requests
 *
 * The proxied route is one more service pointing at an nginx origin; wrk drives it with 50
 * connections. RSS is /proc/<pid>/status VmRSS of the serving process (see `memory`) and
 * of all the node's processes, read after each segment and a 2 s pause.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {startOrigin} from './lib/nginx.js'
import {freePort, startProcess, stopAll, stopOnExit, tempDir, waitForPort} from './lib/proc.js'
import {machine, markdownTable} from './lib/stats.js'
import {ensureTool} from './lib/tools.js'
import {runWrk} from './lib/wrk.js'

const MAIN = fileURLToPath(new URL('../dist/src/runtime/main.js', import.meta.url))
const env = (k, d) => Number(process.env[k] ?? d)
const ROUTES = env('BENCH_ROUTES', 10_000)
const SEGMENTS = env('BENCH_SEGMENTS', 4)
const SECONDS = env('BENCH_SECONDS', 15)
/** With a count, segments go on (past BENCH_SEGMENTS) until that many requests were proxied. */
const REQUESTS = env('BENCH_REQUESTS', 0)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function status(pid) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) / 1024
  return {rss: kb('VmRSS'), hwm: kb('VmHWM')}
}

function children(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

/**
 * The node's processes: the supervisor (main.js), the serving process it runs (with its
 * workers, if any) and, with `kctl_warm_spare` (on by default), a spare serving process
 * standing by with the code loaded and no configuration. The serving process is the child
 * with the largest RSS; `total` is every process of the node.
 */
function memory(pid) {
  const sup = status(pid)
  const trees = children(pid).map((c) => [c, ...children(c)].map(status))
  const sizes = trees.map((t) => ({rss: t.reduce((a, m) => a + m.rss, 0), hwm: Math.max(...t.map((m) => m.hwm))})).sort((a, b) => b.rss - a.rss)
  const serving = sizes[0] ?? {rss: 0, hwm: 0}
  const spare = sizes.slice(1).reduce((a, m) => a + m.rss, 0)
  return {serving: serving.rss, hwm: serving.hwm, spare, total: sup.rss + serving.rss + spare}
}

async function main() {
  stopOnExit()
  ensureTool('wrk')
  const originPort = await freePort()
  await startOrigin(originPort, undefined)
  const [admin, st, proxy] = [await freePort(), await freePort(), await freePort()]
  const prefix = tempDir('kctl-bench-mem-')
  const conf = join(prefix, 'kong.conf')
  writeFileSync(conf, `prefix = ${prefix}\ndatabase = off\nadmin_listen = 127.0.0.1:${admin}\nstatus_listen = 127.0.0.1:${st}\nproxy_listen = 127.0.0.1:${proxy}\n`)
  const p = startProcess('dbless', process.execPath, [MAIN, '--conf', conf])
  await waitForPort(admin, 30_000, p)
  await waitForPort(proxy, 30_000, p)
  await sleep(3000)
  const empty = memory(p.pid)
  const rows = [['started, no configuration', '—', fmt(empty.serving), empty.spare ? fmt(empty.spare) : '—', fmt(empty.total)]]
  const services = Array.from({length: ROUTES}, (_, i) => ({name: `svc-${i}`, url: `http://upstream-${i % 50}.internal:8080/api`, routes: [{name: `route-${i}`, paths: [`/svc/${i}`]}]}))
  services.push({name: 'bench', url: `http://127.0.0.1:${originPort}`, routes: [{name: 'bench', paths: ['/bench']}]})
  const res = await fetch(`http://127.0.0.1:${admin}/config`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({_format_version: '3.0', services})})
  if (res.status !== 201) throw new Error(`POST /config answered ${res.status}: ${await res.text()}`)
  await sleep(10_000)
  const loaded = memory(p.pid)
  rows.push([`${ROUTES.toLocaleString('en-US')} routes loaded, idle 10 s`, '—', `${fmt(loaded.serving)} (peak while loading ${fmt(loaded.hwm)})`, loaded.spare ? fmt(loaded.spare) : '—', fmt(loaded.total)])
  let total = 0
  const after = []
  for (let i = 0; i < SEGMENTS || total < REQUESTS; i++) {
    const r = await runWrk({url: `http://127.0.0.1:${proxy}/bench/hello`, seconds: SECONDS, connections: 50})
    if (r.non2xx) throw new Error(`segment ${i + 1}: ${r.non2xx} non-2xx answers`)
    total += r.requests
    await sleep(2000)
    const m = memory(p.pid)
    after.push(m.serving)
    rows.push([`after ${total.toLocaleString('en-US')} proxied requests${r.socketErrors ? ` (${r.socketErrors} wrk socket errors/timeouts)` : ''}`, String(Math.round(r.rps)), fmt(m.serving), m.spare ? fmt(m.spare) : '—', fmt(m.total)])
    process.stderr.write(`segment ${i + 1}: ${Math.round(r.rps)} req/s, serving process RSS ${fmt(m.serving)}\n`)
  }
  await stopAll()
  const growth = after.length > 1 ? ((after[after.length - 1] - after[0]) / after[0]) * 100 : NaN
  console.log(`DB-less node memory; ${machine()}; wrk -c50 on /bench (one of ${ROUTES + 1} routes)\n`)
  console.log(markdownTable(['state', 'req/s', 'RSS, serving process', 'RSS, warm spare', 'RSS, all the node\'s processes'], rows))
  console.log(`\nGrowth from the first segment to the last (warm-up excluded): ${growth.toFixed(1)} %`)
}

const fmt = (mib) => `${mib.toFixed(0)} MiB`

main().catch(async (err) => {
  console.error(err.stack ?? err)
  await stopAll()
  process.exit(1)
})
