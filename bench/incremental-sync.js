#!/usr/bin/env node
/**
 * Incremental sync against full sync at 10,000 routes: one route changed (PATCH) reaching
 * N data planes, and what the change costs a real DP in CPU. Both modes in the same run,
 * on the same CP and database:
 *
 *   npm run build && node bench/incremental-sync.js    # BENCH_ROUTES=10000 BENCH_DPS=100 BENCH_WRITES=20
 *
 * Per mode: one real DP (kctl_cluster_incremental_sync on or off) and BENCH_DPS lightweight
 * DPs speaking the protocol from one other process (bench/lib/fake-dp.js; they gunzip and
 * parse every frame, apply nothing). Propagation is timed from the Admin API's answer
 * (the CP has queued the frames by then) to the last DP having the new hash: the fleet's
 * report, and the real DP's /status. DP CPU per change: user+system time of the real DP's
 * serving process over the writes, divided by the writes (10 ms clock ticks, so read the
 * average, not single changes).
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {forkFleet} from './lib/fake-dp.js'
import {dpServes, getJson, postJson, procUsage, routeEvents, sleep, startBase, startControlPlane, startDataPlane} from './lib/hybrid.js'
import {stopAll, stopOnExit, track} from './lib/proc.js'
import {fmt, machine, markdownTable, median, percentile} from './lib/stats.js'

const ROUTES = Number(process.env.BENCH_ROUTES ?? 10_000)
const DPS = Number(process.env.BENCH_DPS ?? 100)
const WRITES = Number(process.env.BENCH_WRITES ?? 20)
const epoch = () => performance.timeOrigin + performance.now()

/** The serving process of a supervised node (its supervisor only watches). */
async function servingPid(dp) {
  for (let i = 0; i < 200; i++) {
    try {
      const r = JSON.parse(readFileSync(join(dp.prefix, 'supervisor.json'), 'utf8'))
      if (r.state === 'running' && r.serving_pid) return r.serving_pid
    } catch {}
    await sleep(50)
  }
  return dp.pid
}

async function patch(url, body) {
  const res = await fetch(url, {method: 'PATCH', headers: {'content-type': 'application/json'}, body: JSON.stringify(body)})
  if (res.status !== 200) throw new Error(`PATCH ${url}: HTTP ${res.status} ${await res.text()}`)
  return res.json()
}

async function measure(base, cp, mode, routeIds) {
  const incremental = mode === 'incremental'
  const dp = await startDataPlane(base, cp, `dp-${mode}`, {kctl_cluster_incremental_sync: incremental ? 'on' : 'off'})
  const fleet = await forkFleet({count: DPS, controlPlane: cp.cluster, cert: base.cert, key: base.key, decode: 'every', incremental}, {register: (c) => track('fake-dps', c)})
  try {
    let hash = (await getJson(`${cp.status}/status`)).configuration_hash
    await Promise.all([dpServes(dp, hash), fleet.waitAll(hash)])
    const pid = await servingPid(dp)
    const fleetMs = []
    const dpMs = []
    const bytes = []
    const cpu0 = procUsage(pid).cpuMs
    for (let i = 0; i < WRITES; i++) {
      await patch(`${cp.admin}/routes/${routeIds[i % routeIds.length]}`, {paths: [`/changed/${mode}/${i}`]})
      const t0 = epoch()
      hash = (await getJson(`${cp.status}/status`)).configuration_hash
      const [fleetAt, dpAt] = await Promise.all([fleet.waitAll(hash), dpServes(dp, hash)])
      fleetMs.push(fleetAt - t0)
      dpMs.push(dpAt - t0)
      bytes.push(fleet.frameBytes(hash))
      await sleep(50)
    }
    const cpuPerChange = (procUsage(pid).cpuMs - cpu0) / WRITES
    const status = await getJson(`${dp.status}/status`)
    return {mode, fleetMs: fleetMs.sort((a, b) => a - b), dpMs: dpMs.sort((a, b) => a - b), bytes: median(bytes), cpuPerChange, sync: status.sync}
  } finally {
    await fleet.stop()
    await dp.proc.stop()
    await base.db.query('DELETE FROM clustering_data_planes')
  }
}

async function main() {
  stopOnExit()
  const base = await startBase()
  const cp = await startControlPlane(base)
  const {create} = routeEvents(ROUTES)
  await postJson(`${cp.admin}/kctl/sync`, {events: create})
  const routeIds = create.filter((e) => e.kind === 'routes').slice(0, 200).map((e) => e.entity.id)
  const results = []
  for (const mode of ['incremental', 'full']) {
    const r = await measure(base, cp, mode, routeIds)
    results.push(r)
    console.error(`${mode}: fleet p50 ${fmt.ms(median(r.fleetMs))} p99 ${fmt.ms(percentile(r.fleetMs, 99))} ms; real DP p50 ${fmt.ms(median(r.dpMs))} p99 ${fmt.ms(percentile(r.dpMs, 99))} ms; DP CPU ${fmt.ms(r.cpuPerChange)} ms/change; ${JSON.stringify(r.sync)}`)
  }
  console.log(`Incremental vs full sync, ${ROUTES.toLocaleString('en-US')} routes, one route changed per write, ${WRITES} writes, ${DPS} lightweight DPs + 1 real DP; ${machine()}`)
  console.log(
    markdownTable(
      ['sync', `${DPS} DPs p50`, `${DPS} DPs p99`, 'real DP p50', 'real DP p99', 'real DP CPU per change', 'frame (gzip)'],
      results.map((r) => [r.mode, `${fmt.ms(median(r.fleetMs))} ms`, `${fmt.ms(percentile(r.fleetMs, 99))} ms`, `${fmt.ms(median(r.dpMs))} ms`, `${fmt.ms(percentile(r.dpMs, 99))} ms`, `${fmt.ms(r.cpuPerChange)} ms`, `${(r.bytes / 1024).toFixed(1)} KiB`]),
    ),
  )
}

main()
  .catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
  .finally(() => stopAll())
