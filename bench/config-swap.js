#!/usr/bin/env node
/**
 * Large configs on a real data plane: how long a DP takes to apply a
 * 10,000-route configuration pushed by its CP, and whether requests fail or stall while
 * it swaps. A real CP (Postgres) and a real DP process; nginx answers `200 ok` as origin.
 *
 *   npm run build && node bench/config-swap.js     # BENCH_ROUTES=10000 BENCH_SECONDS=16
 *
 *   wrk on the DP's /bench route (-c 20, --timeout 10s) for BENCH_SECONDS:
 *     t≈3 s   POST /kctl/sync: + 10,000 routes (one transaction)  ─► DP applies (swap 1)
 *     t≈½     POST /kctl/sync: − the 10,000 routes                 ─► DP applies (swap 2)
 *   and before it, the same wrk run without any push (baseline max latency).
 * Apply time: from /kctl/sync answering (the CP has already sent the frame) to the DP's
 * /status serving the new hash (transfer, gunzip, parse, validate, router build, swap).
 * Failed requests = wrk's socket errors + non-2xx answers; /bench is in every config.
 */
import {startOrigin} from './lib/nginx.js'
import {dpServes, getJson, mib, postJson, procUsage, routeEvents, sleep, startBase, startControlPlane, startDataPlane} from './lib/hybrid.js'
import {freePort, stopAll, stopOnExit} from './lib/proc.js'
import {fmt, machine, markdownTable} from './lib/stats.js'
import {ensureTool} from './lib/tools.js'
import {runWrk} from './lib/wrk.js'

const ROUTES = Number(process.env.BENCH_ROUTES ?? 10_000)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 16)
const epoch = () => performance.timeOrigin + performance.now()

async function push(cp, dp, events) {
  const t0 = epoch()
  await postJson(`${cp.admin}/kctl/sync`, {events})
  const returned = epoch()
  const hash = (await getJson(`${cp.status}/status`)).configuration_hash
  const at = await dpServes(dp, hash, 60_000)
  return {syncMs: returned - t0, applyMs: at - returned, rss: procUsage(dp.pid).rss}
}

let dp
async function main() {
  stopOnExit()
  ensureTool('wrk')
  const originPort = await freePort()
  await startOrigin(originPort)
  const base = await startBase()
  const cp = await startControlPlane(base)
  await postJson(`${cp.admin}/services`, {name: 'origin', url: `http://127.0.0.1:${originPort}`})
  await postJson(`${cp.admin}/services/origin/routes`, {name: 'bench', paths: ['/bench']})
  dp = await startDataPlane(base, cp, 'dp-1')
  const url = `${dp.proxy}/bench`
  for (let i = 0; (await fetch(url).then((r) => r.status, () => 0)) !== 200; i++) {
    if (i > 100) throw new Error(`${url} is not proxied`)
    await sleep(50)
  }
  const wrk = {url, seconds: SECONDS, connections: 20, timeout: 10}
  const baseline = await runWrk(wrk)
  const rss0 = procUsage(dp.pid).rss
  const {create, remove} = routeEvents(ROUTES, `http://127.0.0.1:${originPort}`)
  const load = runWrk(wrk)
  await sleep(3000)
  const up = await push(cp, dp, create)
  await sleep(Math.max(0, (SECONDS * 1000) / 2 - 3000 - up.syncMs - up.applyMs))
  const down = await push(cp, dp, remove)
  const swapped = await load

  console.log(`Config swap under load on a real DP; ${machine()}`)
  console.log(markdownTable(['step', '/kctl/sync answered', 'DP applied it (after the answer)', 'DP RSS MiB'], [
    ['DP with 1 route', '—', '—', mib(rss0)],
    [`+ ${ROUTES.toLocaleString('en-US')} routes`, `${fmt.ms(up.syncMs)} ms`, `${fmt.ms(up.applyMs)} ms`, mib(up.rss)],
    [`− ${ROUTES.toLocaleString('en-US')} routes`, `${fmt.ms(down.syncMs)} ms`, `${fmt.ms(down.applyMs)} ms`, mib(down.rss)],
  ]))
  console.log()
  const row = (name, r) => [name, fmt.int(r.requests), fmt.int(r.rps), fmt.ms(r.p50), fmt.ms(r.p99), fmt.ms(r.max), String(r.socketErrors + r.non2xx)]
  console.log(markdownTable(['wrk -c 20, ' + SECONDS + ' s', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'failed'], [row('no push (baseline)', baseline), row(`two ${ROUTES.toLocaleString('en-US')}-route swaps during the run`, swapped)]))
}

main()
  .catch((err) => {
    console.error(err.stack ?? err.message)
    if (dp) console.error(`data plane's warnings:\n${dp.proc.warnings().slice(0, 30).join('\n')}`)
    process.exitCode = 1
  })
  .finally(() => stopAll())
