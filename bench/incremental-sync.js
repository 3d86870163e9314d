#!/usr/bin/env node
/**
 * Incremental sync against full sync at 10,000 routes: one route changed (PATCH) reaching
 * N data planes, and what the change costs a real DP in CPU. Both modes in the same run,
 * on the same CP and database:
 *
 *   npm run build && node bench/incremental-sync.js    # BENCH_ROUTES=10000 BENCH_DPS=100 BENCH_WRITES=20
 *   BENCH_MODES=incremental node bench/incremental-sync.js   # one mode only (default: incremental,full)
 *
 * Per mode: one real DP (kctl_cluster_incremental_sync on or off) and BENCH_DPS lightweight
 * DPs speaking the protocol from one other process (bench/lib/fake-dp.js; they gunzip and
 * parse every frame, apply nothing). Once the DPs have the whole configuration: a 0.5 s
 * pause and BENCH_WARMUP (3) writes not counted, then three phases of BENCH_WRITES writes each:
 *   propagation  timed from the write request to the last DP having the new hash: the
 *                fleet's report, and the real DP's log line saying it applied it (read from
 *                its output: polling its /status every 2 ms cost it about 1 ms of CPU a poll,
 *                on the cores the CP and the fleet use);
 *   DP CPU       user+system time of the real DP's serving process over the writes, divided
 *                by the writes (10 ms clock ticks: read the average). The DP is not polled
 *                while the fleet catches up, then every 20 ms; what the idle DP spends over
 *                as long, and the CPU of those polls, both measured beforehand, are taken off;
 *   proxy        a fixed rate of BENCH_RPS requests/s to one unchanged route of the real DP
 *                (origin: a Node server in this process), p99 over the writes next to the p99
 *                of as long a quiet window just before; the same rate, at the same time, to
 *                a control: a DB-less node with the same routes that no change reaches (the
 *                machine's share of the move).
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {createServer} from 'node:http'
import {forkFleet} from './lib/fake-dp.js'
import {startFixedRate, window} from './lib/fixed-rate.js'
import {dpApplied, dpServes, getJson, postJson, procUsage, routeEvents, sleep, startBase, startControlPlane, startDataPlane, startDblessNode} from './lib/hybrid.js'
import {stopAll, stopOnExit, track} from './lib/proc.js'
import {fmt, machine, markdownTable, median, percentile} from './lib/stats.js'

const ROUTES = Number(process.env.BENCH_ROUTES ?? 10_000)
const DPS = Number(process.env.BENCH_DPS ?? 100)
const WRITES = Number(process.env.BENCH_WRITES ?? 20)
const RPS = Number(process.env.BENCH_RPS ?? 200)
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3)
const epoch = () => performance.timeOrigin + performance.now()

async function patch(url, body) {
  const res = await fetch(url, {method: 'PATCH', headers: {'content-type': 'application/json'}, body: JSON.stringify(body)})
  if (res.status !== 200) throw new Error(`PATCH ${url}: HTTP ${res.status} ${await res.text()}`)
  return res.json()
}

async function measure(base, cp, mode, routeIds, probePath, control) {
  const incremental = mode === 'incremental'
  const dp = await startDataPlane(base, cp, `dp-${mode}`, {kctl_cluster_incremental_sync: incremental ? 'on' : 'off'})
  const fleet = await forkFleet({count: DPS, controlPlane: cp.cluster, cert: base.cert, key: base.key, decode: 'every', incremental}, {register: (c) => track('fake-dps', c)})
  try {
    let hash = (await getJson(`${cp.status}/status`)).configuration_hash
    await Promise.all([dpServes(dp, hash), fleet.waitAll(hash)])
    const pid = dp.pid
    let n = 0
    // timed from the write request: the CP sends deltas before it answers (it answers
    // once the whole configuration is compressed too)
    const write = async () => {
      const t0 = epoch()
      await patch(`${cp.admin}/routes/${routeIds[n % routeIds.length]}`, {paths: [`/changed/${mode}/${n}`]})
      n++
      hash = (await getJson(`${cp.status}/status`)).configuration_hash
      return t0
    }
    // What follows the set-up's whole configuration (the DPs' parse of it and its garbage,
    // the real DP hashing it once when idle, code not run yet) is over before the timing:
    // a pause, then BENCH_WARMUP writes that are not counted.
    await sleep(500)
    for (let i = 0; i < WARMUP; i++) {
      await write()
      await Promise.all([fleet.waitAll(hash), dpApplied(dp, hash)])
      await sleep(50)
    }
    // 1. propagation
    const fleetMs = []
    const dpMs = []
    const bytes = []
    for (let i = 0; i < WRITES; i++) {
      const t0 = await write()
      const [fleetAt, dpAt] = await Promise.all([fleet.waitAll(hash), dpApplied(dp, hash)])
      fleetMs.push(fleetAt - t0)
      dpMs.push(dpAt - t0)
      bytes.push(fleet.frameBytes(hash))
      await sleep(50)
    }
    // 2. DP CPU: what the idle DP spends per second, and a /status poll, first; then the writes
    const IDLE_MS = 3000
    let cpu0 = procUsage(pid).cpuMs
    await sleep(IDLE_MS)
    const idlePerMs = (procUsage(pid).cpuMs - cpu0) / IDLE_MS
    const POLLS = 100
    cpu0 = procUsage(pid).cpuMs
    let w0 = performance.now()
    for (let i = 0; i < POLLS; i++) {
      await getJson(`${dp.status}/status`)
      await sleep(20)
    }
    const pollCpu = Math.max(0, procUsage(pid).cpuMs - cpu0 - idlePerMs * (performance.now() - w0)) / POLLS
    let polls = 0
    cpu0 = procUsage(pid).cpuMs
    w0 = performance.now()
    for (let i = 0; i < WRITES; i++) {
      await write()
      await fleet.waitAll(hash)
      for (;;) {
        polls++
        if ((await getJson(`${dp.status}/status`)).configuration_hash === hash) break
        await sleep(20)
      }
      await sleep(50)
    }
    const cpuRaw = procUsage(pid).cpuMs - cpu0
    const idleCpu = idlePerMs * (performance.now() - w0)
    const cpuPerChange = Math.max(0, cpuRaw - idleCpu - polls * pollCpu) / WRITES
    // 3. the proxy's latency during the changes
    const [dpUrl, controlUrl] = [`${dp.proxy}${probePath}`, `${control.proxy}${probePath}`]
    const load = startFixedRate([dpUrl, controlUrl], RPS)
    await sleep(1000) // warm-up, not counted
    const quietFrom = epoch()
    await sleep(3000)
    const changesFrom = epoch()
    for (let i = 0; i < WRITES; i++) {
      await write()
      await dpApplied(dp, hash)
      await sleep(50)
    }
    const changesTo = epoch()
    const run = await load.stop()
    const of = (url) => run.results.filter((r) => r.url === url)
    const quiet = window(of(dpUrl), quietFrom, changesFrom)
    const during = window(of(dpUrl), changesFrom, changesTo)
    const controlQuiet = window(of(controlUrl), quietFrom, changesFrom)
    const controlDuring = window(of(controlUrl), changesFrom, changesTo)
    const status = await getJson(`${dp.status}/status`)
    return {mode, fleetMs: fleetMs.sort((a, b) => a - b), dpMs: dpMs.sort((a, b) => a - b), bytes: median(bytes), cpuPerChange, cpuRaw: cpuRaw / WRITES, idleCpu: idleCpu / WRITES, pollCpu, polls, quiet, during, controlQuiet, controlDuring, sync: status.sync}
  } finally {
    await fleet.stop()
    await dp.proc.stop()
    await base.db.query('DELETE FROM clustering_data_planes')
  }
}

async function main() {
  stopOnExit()
  // the origin of every route: answers 200 at once
  const origin = createServer((req, res) => res.end('ok'))
  await new Promise((r) => origin.listen(0, '127.0.0.1', r))
  const base = await startBase()
  const cp = await startControlPlane(base)
  const {create, declarative} = routeEvents(ROUTES, `http://127.0.0.1:${origin.address().port}`)
  await postJson(`${cp.admin}/kctl/sync`, {events: create})
  // the control: a DB-less node with the same routes and the same load, that no change
  // reaches; what moves its p99 during the changes is the machine, not the applying
  const control = await startDblessNode(base, 'control', declarative)
  const routeIds = create.filter((e) => e.kind === 'routes').slice(0, 200).map((e) => e.entity.id)
  // a route the writes never change (they change the first 200)
  const probePath = `/r/${ROUTES - 1}`
  const results = []
  for (const mode of (process.env.BENCH_MODES ?? 'incremental,full').split(',')) {
    const r = await measure(base, cp, mode, routeIds, probePath, control)
    results.push(r)
    console.error(`${mode}: fleet p50 ${fmt.ms(median(r.fleetMs))} p99 ${fmt.ms(percentile(r.fleetMs, 99))} ms; real DP p50 ${fmt.ms(median(r.dpMs))} p99 ${fmt.ms(percentile(r.dpMs, 99))} ms; DP CPU ${fmt.ms(r.cpuPerChange)} ms/change (raw ${fmt.ms(r.cpuRaw)}, idle ${fmt.ms(r.idleCpu)}, ${r.polls} polls at ${fmt.ms(r.pollCpu)} ms); proxy p99 quiet ${fmt.ms(r.quiet.p99)} ms, during ${fmt.ms(r.during.p99)} ms (${r.during.requests} requests, ${r.during.failed} failed); control p99 quiet ${fmt.ms(r.controlQuiet.p99)} ms, during ${fmt.ms(r.controlDuring.p99)} ms (${r.controlDuring.requests} requests, ${r.controlDuring.failed} failed); ${JSON.stringify(r.sync)}`)
  }
  origin.close()
  console.log(`Incremental vs full sync, ${ROUTES.toLocaleString('en-US')} routes, one route changed per write, ${WRITES} writes per phase, ${DPS} lightweight DPs + 1 real DP, proxy load ${RPS} req/s; ${machine()}`)
  console.log(
    markdownTable(
      ['sync', `${DPS} DPs p50`, `${DPS} DPs p99`, 'real DP p50', 'real DP p99', 'real DP CPU per change', 'proxy p99 quiet / during changes', 'control node p99 quiet / during', 'frame (gzip)'],
      results.map((r) => [r.mode, `${fmt.ms(median(r.fleetMs))} ms`, `${fmt.ms(percentile(r.fleetMs, 99))} ms`, `${fmt.ms(median(r.dpMs))} ms`, `${fmt.ms(percentile(r.dpMs, 99))} ms`, `${fmt.ms(r.cpuPerChange)} ms`, `${fmt.ms(r.quiet.p99)} / ${fmt.ms(r.during.p99)} ms`, `${fmt.ms(r.controlQuiet.p99)} / ${fmt.ms(r.controlDuring.p99)} ms`, `${(r.bytes / 1024).toFixed(1)} KiB`]),
    ),
  )
}

main()
  .catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
  .finally(() => stopAll())
