#!/usr/bin/env node
/**
 * Control-plane scale: one CP process with 1,000 connected data planes
 * (bench/lib/fake-dp.js, the real protocol, one other process): its RSS and CPU idle over
 * BENCH_IDLE_SECONDS (20), then during the push of a 10,000-route configuration written in
 * one transaction through `POST /kctl/sync`, and the time until every DP has it.
 *
 *   npm run build && node bench/cp-scale.js      # BENCH_DPS=1000 BENCH_ROUTES=10000 BENCH_IDLE_SECONDS=20
 *
 * Pings every 30 s (Kong's cluster_ping_interval), each DP's first one at a random point of
 * the interval. The fake DPs decode each distinct frame once and check every other copy is
 * byte-identical (decode 'once'): 1,000 decodes of a 10,000-route config in one process
 * would measure that process, not the CP (each real DP decodes its copy on its own cores).
 * CPU is user+system time from /proc over the window, in % of one core.
 */
import {forkFleet} from './lib/fake-dp.js'
import {cpSees, getJson, mib, postJson, procUsage, routeEvents, sampleProcess, sleep, startBase, startControlPlane} from './lib/hybrid.js'
import {stopAll, stopOnExit, track} from './lib/proc.js'
import {machine, markdownTable} from './lib/stats.js'

const DPS = Number(process.env.BENCH_DPS ?? 1000)
const ROUTES = Number(process.env.BENCH_ROUTES ?? 10_000)
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 20)
const epoch = () => performance.timeOrigin + performance.now()
const s = (ms) => `${(ms / 1000).toFixed(2)} s`

let cp
async function main() {
  stopOnExit()
  const base = await startBase()
  cp = await startControlPlane(base)
  await sleep(1000)
  const alone = procUsage(cp.pid)
  const t = performance.now()
  const fleet = await forkFleet({count: DPS, controlPlane: cp.cluster, cert: base.cert, key: base.key, decode: 'once'}, {register: (c) => track('fake-dps', c)})
  let hash = (await getJson(`${cp.status}/status`)).configuration_hash
  await Promise.all([cpSees(cp, fleet.ids, hash, {everyMs: 100}), fleet.waitAll(hash)])
  const connectMs = performance.now() - t
  console.error(`${DPS} DPs connected and recorded in ${s(connectMs)}; idle for ${IDLE_SECONDS} s`)

  const idle = sampleProcess(cp.pid)
  const fleetIdle = sampleProcess(fleet.pid)
  await sleep(IDLE_SECONDS * 1000)
  const idleCp = idle.stop()
  const idleFleet = fleetIdle.stop()

  const {create} = routeEvents(ROUTES)
  const push = sampleProcess(cp.pid, 20)
  const t0 = epoch()
  await postJson(`${cp.admin}/kctl/sync`, {events: create})
  const returned = epoch()
  hash = (await getJson(`${cp.status}/status`)).configuration_hash
  const [cpAt, clientAt] = await Promise.all([cpSees(cp, fleet.ids, hash, {timeoutMs: 120_000, everyMs: 20}), fleet.waitAll(hash, 120_000)])
  const pushCp = push.stop()

  console.log(`Control plane with ${DPS} data planes (fake, one process); ${machine()}`)
  console.log(markdownTable(['phase', 'CP RSS MiB', 'CP CPU (% of one core)', 'time'], [
    ['CP alone, no DP', mib(alone.rss), '—', '—'],
    [`${DPS} DPs connecting (mTLS) until all recorded`, '—', '—', s(connectMs)],
    [`${DPS} DPs idle, ${IDLE_SECONDS} s`, `${mib(idleCp.endRss)} (peak ${mib(idleCp.peakRss)})`, `${idleCp.cpuPct.toFixed(1)} % (fleet process ${idleFleet.cpuPct.toFixed(1)} %)`, '—'],
    [`push of ${ROUTES.toLocaleString('en-US')} routes: /kctl/sync answered`, '—', '—', s(returned - t0)],
    [`… every DP decoded it (client view, frame ${((fleet.frameBytes(hash) ?? 0) / 1024).toFixed(0)} KiB gzip)`, '—', '—', `${s(clientAt - t0)} (${s(clientAt - returned)} after the answer)`],
    ['… every DP row shows it (CP view, /clustering/data-planes)', `peak ${mib(pushCp.peakRss)}`, `${pushCp.cpuPct.toFixed(0)} % over ${s(pushCp.wallMs)}`, `${s(cpAt - t0)} (${s(cpAt - returned)} after the answer)`],
  ]))
  const warnings = cp.proc.warnings()
  if (warnings.length) console.log(`\nCP warnings (${warnings.length}):\n${warnings.slice(0, 5).join('\n')}`)
}

main()
  .catch((err) => {
    console.error(err.stack ?? err.message)
    if (cp) console.error(`control plane's warnings:\n${cp.proc.warnings().slice(0, 30).join('\n')}`)
    process.exitCode = 1
  })
  .finally(() => stopAll())
