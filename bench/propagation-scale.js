#!/usr/bin/env node
/**
 * Config propagation at scale: from an Admin API write returning on the
 * control plane to every data plane having the new configuration, p50/p99 over many
 * writes, with 2 real DP processes, then 100 and 1,000 lightweight DPs speaking the real
 * protocol from one other process (bench/lib/fake-dp.js).
 *
 *   npm run build && node bench/propagation-scale.js     # BENCH_WRITES=30 BENCH_SCENARIOS=real-2,fake-100,fake-1000
 *
 * Two views of "every DP has it", both timed from the write's response:
 *   CP view:     /clustering/data-planes (polled back to back) shows the new config_hash
 *                on every DP row, i.e. every DP pinged the hash and the CP recorded it;
 *   client view: real DPs' /status serves the new hash; fake DPs all gunzipped and parsed
 *                the frame (the fleet reports the epoch time the last one did).
 * Each write creates one service (POST /services); the Admin API answers after the CP
 * published, so the frame is already queued to every DP when the clock starts.
 * One Postgres and one CP for every scenario; stale DP rows are deleted between them.
 */
import {forkFleet} from './lib/fake-dp.js'
import {cpSees, dpServes, getJson, postJson, sampleProcess, sleep, startBase, startControlPlane, startDataPlane} from './lib/hybrid.js'
import {stopAll, stopOnExit, track} from './lib/proc.js'
import {fmt, machine, markdownTable, median, percentile} from './lib/stats.js'

const WRITES = Number(process.env.BENCH_WRITES ?? 30)
const SCENARIOS = (process.env.BENCH_SCENARIOS ?? 'real-2,fake-100,fake-1000').split(',')
const DEADLINE = Date.now() + 170_000
const epoch = () => performance.timeOrigin + performance.now()

async function fleetOf(base, cp, scenario) {
  const [kind, n] = scenario.split('-')
  const count = Number(n)
  if (kind === 'real') {
    const dps = []
    for (let i = 1; i <= count; i++) dps.push(await startDataPlane(base, cp, `dp-${i}`))
    return {
      ids: dps.map((d) => d.id),
      waitAll: async (hash) => Math.max(...(await Promise.all(dps.map((d) => dpServes(d, hash))))),
      stop: () => Promise.all(dps.map((d) => d.proc.stop())),
    }
  }
  const fleet = await forkFleet({count, controlPlane: cp.cluster, cert: base.cert, key: base.key, decode: 'every'}, {register: (c) => track('fake-dps', c)})
  return fleet
}

async function measure(base, cp, scenario) {
  const fleet = await fleetOf(base, cp, scenario)
  try {
    let hash = (await getJson(`${cp.status}/status`)).configuration_hash
    await Promise.all([cpSees(cp, fleet.ids, hash), fleet.waitAll(hash)])
    const cpMs = []
    const clientMs = []
    const usage = sampleProcess(cp.pid)
    for (let i = 0; i < WRITES && Date.now() < DEADLINE; i++) {
      await postJson(`${cp.admin}/services`, {name: `${scenario}-${i}`, url: 'http://127.0.0.1:9/'})
      const t0 = epoch()
      hash = (await getJson(`${cp.status}/status`)).configuration_hash
      const [cpAt, clientAt] = await Promise.all([cpSees(cp, fleet.ids, hash), fleet.waitAll(hash)])
      cpMs.push(cpAt - t0)
      clientMs.push(clientAt - t0)
      await sleep(20)
    }
    const u = usage.stop()
    return {scenario, dps: fleet.ids.length, cpMs: cpMs.sort((a, b) => a - b), clientMs: clientMs.sort((a, b) => a - b), cpCpu: u.cpuPct}
  } finally {
    await fleet.stop()
    await base.db.query('DELETE FROM clustering_data_planes')
  }
}

let cp
async function main() {
  stopOnExit()
  const base = await startBase()
  cp = await startControlPlane(base)
  const results = []
  for (const s of SCENARIOS) {
    if (Date.now() > DEADLINE) break
    const r = await measure(base, cp, s)
    results.push(r)
    console.error(`${s}: ${r.cpMs.length} writes, CP view p50 ${fmt.ms(median(r.cpMs))} ms p99 ${fmt.ms(percentile(r.cpMs, 99))} ms; client view p50 ${fmt.ms(median(r.clientMs))} ms p99 ${fmt.ms(percentile(r.clientMs, 99))} ms`)
  }
  const kind = (s) => (s.startsWith('real') ? 'real DP processes' : 'fake DPs, one process')
  const rows = results.map((r) => [
    `${r.dps} ${kind(r.scenario)}`, String(r.cpMs.length),
    fmt.ms(median(r.cpMs)), fmt.ms(percentile(r.cpMs, 99)), fmt.ms(r.cpMs.at(-1)),
    fmt.ms(median(r.clientMs)), fmt.ms(percentile(r.clientMs, 99)),
    `${r.cpCpu.toFixed(0)} %`,
  ])
  console.log(`Config propagation, write → every DP; ${machine()}`)
  console.log(markdownTable(['data planes', 'writes', 'CP view p50 ms', 'CP view p99 ms', 'CP view max ms', 'client view p50 ms', 'client view p99 ms', 'CP CPU while writing'], rows))
}

main()
  .catch((err) => {
    console.error(err.stack ?? err.message)
    if (cp) console.error(`control plane's warnings:\n${cp.proc.warnings().slice(0, 30).join('\n')}`)
    process.exitCode = 1
  })
  .finally(() => stopAll())
