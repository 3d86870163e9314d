#!/usr/bin/env node
/**
 * Day-2 operations under a fixed-rate load: for each one, the failed requests, p99 latency
 * during the operation next to p99 before it, and how long the operation took. Each
 * operation runs next to its peer in the same run, and the table gives their ratios:
 *
 *   kctl reload dp-1                 vs  kctl stop dp-1 + kctl start dp-1   (hybrid, load over all DPs)
 *   kctl restart (rolling)           vs  kctl restart --all-at-once          (hybrid)
 *   kctl certs rotate (shared)        (every DP on the new certificate after; no peer)
 *   kctl reload (embedded node)      vs  kctl stop node-1 + kctl start node-1
 *   kctl upgrade (to a second build)  vs  kctl restart (rolling: the same handover, no version change)
 *   kctl upgrade --rollback
 *   kctl scale --data-planes 4, then 3 (load over the DPs there before each)
 *   control-plane failover: SIGKILL of the control plane most DPs use (2 CPs)
 *
 *   npm run build && node bench/operations.js     (3–4 minutes on 2 cores)
 *   BENCH_RPS=50 (per data plane)  BENCH_BEFORE_S=5  BENCH_AFTER_S=1  BENCH_DATA_PLANES=3
 *   BENCH_ONLY="kctl certs rotate,kctl reload dp-1"   only the operations whose names start so
 *
 * The clusters are real, built by the real CLI (`kctl init` on a spec with free
 * 127.0.0.1 ports; embedded Postgres) in a temp dir and destroyed at the end, also on
 * failure. The second build for `upgrade` is this one copied with another version string
 * (as test/cli/upgrade.test.ts makes it). The routes go to an nginx origin (`return 200`). The load is
 * bench/lib/fixed-rate.js: open loop, half keep-alive half new connections, never retried;
 * every scheduled request is counted, and the script checks the count against rate ×
 * duration. "during" is every request scheduled from the command's start to its exit
 * (failover: from the kill until every DP reports the other CP), "before" the
 * BENCH_BEFORE_S seconds before. Percentiles are over the successful requests.
 */
import {cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {loadavg} from 'node:os'
import {join} from 'node:path'
import {startFixedRate, window} from './lib/fixed-rate.js'
import {allServe, embeddedSpec, getJson, initCluster, kctl, listen, nodes, proxiesOf, ROOT, route, sleep, until} from './lib/kctl.js'
import {startOrigin} from './lib/nginx.js'
import {freePort, stopAll, stopOnExit, tempDir} from './lib/proc.js'
import {fmt, machine, markdownTable} from './lib/stats.js'
import {ensureTool} from './lib/tools.js'

const RPS = Number(process.env.BENCH_RPS ?? 50)
const BEFORE_MS = Number(process.env.BENCH_BEFORE_S ?? 5) * 1000
const AFTER_MS = Number(process.env.BENCH_AFTER_S ?? 1) * 1000
const DATA_PLANES = Number(process.env.BENCH_DATA_PLANES ?? 3)
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').map((x) => x.trim()).filter(Boolean)
const wanted = (name) => ONLY.length === 0 || ONLY.some((prefix) => name.startsWith(prefix))
/** The 1-minute load average while each operation ran (sampled at its start and end). */
const loads = []

/** This build copied to `dir` with package.json and the oclif manifest saying `version`: a second kctl. Returns its bin/run.js. */
function secondBuild(dir, version) {
  mkdirSync(dir, {recursive: true})
  for (const part of ['bin', 'templates', join('dist', 'src')]) cpSync(join(ROOT, part), join(dir, part), {recursive: true})
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  writeFileSync(join(dir, 'package.json'), JSON.stringify({...pkg, version}, null, 2))
  const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8'))
  writeFileSync(join(dir, 'oclif.manifest.json'), JSON.stringify({...manifest, version}))
  return join(dir, 'bin', 'run.js')
}

async function hybridSpec() {
  const cps = []
  for (let i = 1; i <= 2; i++) cps.push(`    - {name: cp-${i}, role: control_plane, admin_listen: ${await listen()}, cluster_listen: ${await listen()}, status_listen: ${await listen()}}`)
  const dps = []
  for (let i = 1; i <= DATA_PLANES; i++) dps.push(`    - {name: dp-${i}, role: data_plane, proxy_listen: ${await listen()}, status_listen: ${await listen()}}`)
  return `apiVersion: kctl/v1\nkind: Cluster\nmetadata: {name: bench-ops-hybrid}\nspec:\n  mode: hybrid\n  database: {embedded: true}\n  certificates: {mtls: shared, days: 30}\n  nodes:\n${cps.join('\n')}\n${dps.join('\n')}\n`
}

/**
 * Runs `op()` under the fixed-rate load on `proxies`: BEFORE_MS of load, the operation,
 * AFTER_MS more. `op` resolves when the operation is over (or with {endedAt} when its end
 * is an observed event rather than its return).
 */
async function measure(name, proxies, op, {removed} = {}) {
  if (!wanted(name)) return undefined
  loads.push(loadavg()[0])
  const load = startFixedRate(proxies.map((p) => `${p}/r`), RPS)
  await sleep(BEFORE_MS)
  const t0 = Date.now()
  const r = await op()
  const t1 = r?.endedAt ?? Date.now()
  await sleep(AFTER_MS)
  const run = await load.stop()
  const before = window(run.results, t0 - BEFORE_MS, t0)
  const during = window(run.results, t0, t1 + 1)
  const all = window(run.results, 0, Infinity)
  if (run.results.length !== run.scheduled) throw new Error(`${name}: ${run.scheduled} requests scheduled, ${run.results.length} counted`)
  // The schedule catches up on a late timer: what it sent must be rate × duration (± one tick per target).
  if (Math.abs(run.scheduled - run.expected) > run.targets) throw new Error(`${name}: ${run.scheduled} requests sent, rate × duration is ${run.expected}`)
  loads.push(loadavg()[0])
  const row = {name, ms: t1 - t0, before, during, total: all.requests, failed: all.failed, causes: all.causes, expected: run.expected, note: r?.note}
  if (removed) {
    // A removed node closes its listener first, then drains what it has: a new connection
    // to it after that is refused (a load balancer would have taken it out), while a
    // request on a connection it had must still be answered. Both are counted; the note
    // says which is which.
    const gone = run.results.filter((x) => x.url.startsWith(`${removed}/`))
    const refused = gone.filter((x) => !x.ok && x.code === 'ECONNREFUSED').length
    const other = run.results.filter((x) => !x.ok && !(x.url.startsWith(`${removed}/`) && x.code === 'ECONNREFUSED'))
    const where = other.map((x) => `${x.code} on ${x.url.startsWith(`${removed}/`) ? `the removed ${r?.removedName ?? 'node'}` : 'a kept DP'} (${x.keepAlive ? 'keep-alive connection' : 'new connection'})`)
    row.note = `${refused} new connections refused by the removed ${r?.removedName ?? 'node'} after it stopped listening; other failures: ${where.length ? where.join(', ') : 'none'}`
  }
  console.log(`${name}: ${fmt.int(row.ms)} ms; ${row.failed} of ${row.total} requests failed${row.failed ? ` ${JSON.stringify(row.causes)}` : ''}; p99 before ${fmt.ms(before.p99)} ms, during ${fmt.ms(during.p99)} ms${row.note ? `; ${row.note}` : ''}`)
  return row
}

async function hybridRuns(originPort) {
  const c = await initCluster('hybrid', await hybridSpec())
  const rows = []
  try {
    let ns = await nodes(c)
    const cpAdmin = ns.get('cp-1').admin
    await route(cpAdmin, originPort, proxiesOf(ns))
    const settle = async () => {
      ns = await nodes(c)
      await allServe(proxiesOf(ns))
    }

    rows.push(await measure('kctl reload dp-1', proxiesOf(ns), () => kctl(c, 'reload', 'dp-1')))
    await settle()
    rows.push(await measure('kctl stop dp-1 + kctl start dp-1', proxiesOf(ns), async () => (await kctl(c, 'stop', 'dp-1'), await kctl(c, 'start', 'dp-1'))))
    await settle()
    rows.push(await measure('kctl restart (rolling)', proxiesOf(ns), () => kctl(c, 'restart')))
    await settle()
    rows.push(await measure('kctl restart --all-at-once', proxiesOf(ns), () => kctl(c, 'restart', '--all-at-once')))
    await settle()
    // What each DP presents after: the fingerprint of its certificate (`cluster_certificate` in /status).
    rows.push(
      await measure('kctl certs rotate (mtls shared)', proxiesOf(ns), async () => {
        const rotated = JSON.parse(await kctl(c, 'certs', 'rotate', '--json'))
        const endedAt = Date.now()
        const seen = await Promise.all([...ns.values()].filter((n) => n.role === 'data_plane').map(async (n) => (await getJson(`${n.status}/status`)).cluster_certificate?.fingerprint_sha256))
        const onNew = seen.filter((f) => f === rotated.current.fingerprint_sha256).length
        return {endedAt, note: `${onNew} of ${seen.length} DPs present the new certificate after (${rotated.current.fingerprint_sha256.slice(0, 12)}…, was ${rotated.previous.fingerprint_sha256.slice(0, 12)}…)`}
      }),
    )
    await settle()
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version
    const next = `${version}-next.1`
    const nextBin = secondBuild(join(tempDir('kctl-bench-ops-next-'), 'kctl'), next)
    // What the nodes report after: the version each runs (`kctl_version` in /status).
    const movedTo = async (...args) => {
      await kctl(c, ...args, {bin: nextBin})
      const endedAt = Date.now()
      const seen = await Promise.all([...ns.values()].filter((n) => n.status).map(async (n) => (await getJson(`${n.status}/status`)).kctl_version))
      return {endedAt, note: `kctl_version of every node after: ${[...new Set(seen)].join(', ')}`}
    }
    rows.push(await measure(`kctl upgrade (to ${next})`, proxiesOf(ns), () => movedTo('upgrade')))
    await settle()
    rows.push(await measure('kctl upgrade --rollback', proxiesOf(ns), () => movedTo('upgrade', '--rollback')))
    await settle()
    rows.push(await measure(`kctl scale --data-planes ${DATA_PLANES + 1}`, proxiesOf(ns), () => kctl(c, 'scale', '--data-planes', String(DATA_PLANES + 1))))
    await settle()
    const removedName = `dp-${DATA_PLANES + 1}`
    rows.push(await measure(`kctl scale --data-planes ${DATA_PLANES}`, proxiesOf(ns), async () => (await kctl(c, 'scale', '--data-planes', String(DATA_PLANES)), {removedName}), {removed: ns.get(removedName)?.proxy}))
    await settle()

    // Failover: which CP does each DP use? Kill the one most of them use (its whole
    // process group: supervisor and serving process), then wait until every DP reports
    // the other one.
    const dps = [...ns.entries()].filter(([, n]) => n.role === 'data_plane')
    const using = async (dp) => (await getJson(`${dp.status}/status`)).control_plane
    const cps = [...ns.entries()].filter(([, n]) => n.role === 'control_plane')
    const counts = new Map(cps.map(([name]) => [name, 0]))
    for (const [, dp] of dps) {
      const cp = await using(dp)
      const owner = cps.find(([, n]) => n.cluster === cp.address)
      if (owner) counts.set(owner[0], counts.get(owner[0]) + 1)
    }
    const [victimName] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]
    const victim = ns.get(victimName)
    const survivor = cps.find(([name]) => name !== victimName)[1]
    rows.push(
      await measure(`control-plane failover (SIGKILL ${victimName}, used by ${counts.get(victimName)} of ${dps.length} DPs)`, proxiesOf(ns), async () => {
        process.kill(-victim.pid, 'SIGKILL')
        await until('every DP on the surviving CP', async () => {
          for (const [, dp] of dps) {
            const cp = await using(dp)
            if (!cp.connected || cp.address !== survivor.cluster) return undefined
          }
          return true
        })
        return {endedAt: Date.now()}
      }),
    )
    await kctl(c, 'start', victimName)
  } finally {
    await c.destroy().catch((err) => console.error(`kctl destroy (hybrid) failed: ${err.message}`))
  }
  return rows
}

async function embeddedRuns(originPort) {
  if (!['kctl reload (embedded node)', 'kctl stop node-1 + kctl start node-1 (embedded)'].some(wanted)) return []
  const c = await initCluster('embedded', await embeddedSpec())
  const rows = []
  try {
    let ns = await nodes(c)
    await route(ns.get('node-1').admin, originPort, proxiesOf(ns))
    rows.push(await measure('kctl reload (embedded node)', proxiesOf(ns), () => kctl(c, 'reload')))
    ns = await nodes(c)
    await allServe(proxiesOf(ns))
    rows.push(await measure('kctl stop node-1 + kctl start node-1 (embedded)', proxiesOf(ns), async () => (await kctl(c, 'stop', 'node-1'), await kctl(c, 'start', 'node-1'))))
  } finally {
    await c.destroy().catch((err) => console.error(`kctl destroy (embedded) failed: ${err.message}`))
  }
  return rows
}

const ms = (x) => (Number.isFinite(x) ? `${Math.round(x)} ms` : '—') // whole ms: the load's clock is Date.now()
const ratio = (a, b) => (b > 0 ? a / b : NaN)
const failedCell = (r) => `${r.failed} / ${fmt.int(r.total)}${r.failed ? ` (${Object.entries(r.causes).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`

function report(rows) {
  console.log(`\nFixed rate ${RPS} requests/s per proxy (half keep-alive, half new connections), ${BEFORE_MS / 1000} s before each operation, ${AFTER_MS / 1000} s after.\n`)
  console.log(
    markdownTable(
      ['operation', 'took', 'failed / requests', 'p99 before', 'p99 during', 'during ÷ before'],
      rows.map((r) => [r.name, `${(r.ms / 1000).toFixed(2)} s`, failedCell(r), ms(r.before.p99), ms(r.during.p99), fmt.ratio(ratio(r.during.p99, r.before.p99))]),
    ),
  )
  const pairs = [
    ['kctl reload dp-1', 'kctl stop dp-1 + kctl start dp-1'],
    ['kctl restart (rolling)', 'kctl restart --all-at-once'],
    [rows.find((r) => r.name.startsWith('kctl upgrade (to'))?.name, 'kctl restart (rolling)'],
    ['kctl reload (embedded node)', 'kctl stop node-1 + kctl start node-1 (embedded)'],
  ]
  const byName = new Map(rows.map((r) => [r.name, r]))
  const pairRows = pairs.filter(([a, b]) => byName.has(a) && byName.has(b)).map(([a, b]) => {
    const x = byName.get(a)
    const y = byName.get(b)
    const rel = (r) => ratio(r.during.p99, r.before.p99)
    return [`${a} vs ${b}`, `${x.failed} vs ${y.failed}`, fmt.ratio(ratio(rel(x), rel(y))), fmt.ratio(ratio(x.ms, y.ms))]
  })
  for (const r of rows.filter((x) => x.note)) console.log(`\n${r.name}: ${r.note}.`)
  if (pairRows.length) {
    console.log('\nEach operation against its peer, same run (ratios of the two):\n')
    console.log(markdownTable(['ours vs peer', 'failed requests', 'p99 during÷before, ours ÷ peer', 'time taken, ours ÷ peer'], pairRows))
  }
  console.log(`\nMachine: ${machine()}; load average (1 min) during the operations: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`)
}

async function main() {
  stopOnExit()
  ensureTool('nginx')
  const originPort = await freePort()
  await startOrigin(originPort)
  const rows = []
  try {
    rows.push(...(await hybridRuns(originPort)).filter(Boolean))
    rows.push(...(await embeddedRuns(originPort)).filter(Boolean))
  } finally {
    if (rows.length) report(rows)
    await stopAll()
  }
}

main().catch((err) => {
  console.error(err.message)
  process.exitCode = 1
})
