#!/usr/bin/env node
/**
 * A node's serving process SIGKILLed under a fixed-rate load: how long until the node
 * serves again, and how many requests fail, with the warm spare (`kctl_warm_spare = on`,
 * the default: a serving process loaded and waiting beside the running one) against the
 * same node without it (`off`: the supervisor forks a new process, which loads the code
 * first). Rounds alternate on / off on one node (`kctl reload` switches the setting), so
 * a busy machine slows both alike; the table gives medians and their ratio.
 *
 *   npm run build && node bench/supervisor.js      (about 2 minutes on 2 cores)
 *   BENCH_ROUNDS=5  BENCH_RPS=200  BENCH_ROUTES=1 (routes besides /r: the config a restart loads)
 *
 * The cluster is real, built by the real CLI (`kctl init`, embedded Postgres) in a temp
 * dir and destroyed at the end, also on failure; the route goes to an nginx origin. The
 * load is bench/lib/fixed-rate.js (open loop, half keep-alive half new connections, never
 * retried, every request counted). "Serves again" is the end of the first successful
 * request scheduled after the kill, less the kill's time. Kills are spaced so that the
 * supervisor's crash limit (5 within 30 s) is never reached.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {startFixedRate, window} from './lib/fixed-rate.js'
import {embeddedSpec, initCluster, kctl, listen, postJson, sleep, until} from './lib/kctl.js'
import {startOrigin} from './lib/nginx.js'
import {freePort, stopAll, stopOnExit} from './lib/proc.js'
import {fmt, machine, markdownTable, median} from './lib/stats.js'
import {ensureTool} from './lib/tools.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const RPS = Number(process.env.BENCH_RPS ?? 200)
const ROUTES = Number(process.env.BENCH_ROUTES ?? 1)
const BEFORE_MS = 1000
const AFTER_MS = 3000
const KILL_GAP_MS = 7000 // 5 crashes within 30 s make the supervisor give up
const NAME = 'bench-supervisor'

const alive = (pid) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
const rssMiB = (pid) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) / 1024 : NaN
}

async function main() {
  stopOnExit()
  ensureTool('nginx')
  const originPort = await freePort()
  await startOrigin(originPort)
  const ports = {proxy: await listen(), admin: await listen(), status: await listen()}
  const spec = (spare) => embeddedSpec({name: NAME, ports, conf: {kctl_warm_spare: spare ? 'on' : 'off'}})
  const c = await initCluster('supervisor', await spec(true))
  const url = (p) => `http://${JSON.parse(p)}`
  const proxy = url(ports.proxy)
  const admin = url(ports.admin)
  const record = () => JSON.parse(readFileSync(join(c.dataDir, 'clusters', NAME, 'nodes', 'node-1', 'supervisor.json'), 'utf8'))
  const results = {on: [], off: []}
  let lastKill = 0
  try {
    await postJson(`${admin}/services`, {name: 'origin', url: `http://127.0.0.1:${originPort}`})
    await postJson(`${admin}/services/origin/routes`, {name: 'r', paths: ['/r']})
    for (let i = 1; i < ROUTES; i += 50) {
      await Promise.all(Array.from({length: Math.min(50, ROUTES - i)}, (_, k) => postJson(`${admin}/services/origin/routes`, {name: `r${i + k}`, paths: [`/r${i + k}/`]})))
    }
    await until('the route', async () => ((await fetch(`${proxy}/r`)).status === 200 ? true : undefined))
    let spareOn = true
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of ['on', 'off']) {
        const want = mode === 'on'
        if (spareOn !== want) {
          const reloads = record().reloads
          writeFileSync(join(c.cwd, 'kctl.yaml'), await spec(want))
          await kctl(c, 'reload')
          await until('the reload', async () => (record().reloads > reloads ? true : undefined))
          spareOn = want
        }
        const ready = await until(`the node ready (spare ${mode})`, async () => {
          const r = record()
          if (r.state !== 'running' || !r.serving_pid || !alive(r.serving_pid)) return undefined
          if (want ? !(r.spare_pid && alive(r.spare_pid)) : r.spare_pid) return undefined
          return r
        })
        await sleep(Math.max(0, lastKill + KILL_GAP_MS - Date.now()))
        const load = startFixedRate([`${proxy}/r`], RPS)
        await sleep(BEFORE_MS)
        // a spare forked at least a second ago has loaded its code
        const rss = {serving: rssMiB(ready.serving_pid), spare: want ? rssMiB(ready.spare_pid) : NaN}
        const killedAt = Date.now()
        process.kill(ready.serving_pid, 'SIGKILL')
        lastKill = killedAt
        await sleep(AFTER_MS)
        const run = await load.stop()
        if (run.results.length !== run.scheduled) throw new Error(`${run.scheduled} requests scheduled, ${run.results.length} counted`)
        const firstOk = run.results.find((x) => x.at >= killedAt && x.ok)
        const all = window(run.results, 0, Infinity)
        if (process.env.BENCH_VERBOSE) for (const x of run.results.filter((y) => !y.ok)) console.log(`  failed ${x.code}, scheduled ${x.at - killedAt} ms after the kill, ${x.keepAlive ? 'keep-alive' : 'new connection'}, ended ${x.end - killedAt} ms after`)
        const row = {backMs: firstOk ? firstOk.end - killedAt : NaN, failed: all.failed, total: all.requests, causes: all.causes, rss}
        results[mode].push(row)
        console.log(`round ${round + 1}, spare ${mode}: serves again ${fmt.int(row.backMs)} ms after the kill; ${row.failed} of ${row.total} requests failed${row.failed ? ` ${JSON.stringify(row.causes)}` : ''}; RSS serving ${rss.serving.toFixed(0)} MiB${want ? `, spare ${rss.spare.toFixed(0)} MiB` : ''}`)
        const r = record()
        if (r.state !== 'running') throw new Error(`the node is ${r.state}: ${r.failure}`)
      }
    }
  } finally {
    await c.destroy().catch((err) => console.error(`kctl destroy failed: ${err.message}`))
    await stopAll()
  }
  const sum = (rows, f) => rows.reduce((a, r) => a + f(r), 0)
  const causes = (rows) => {
    const out = {}
    for (const r of rows) for (const [k, v] of Object.entries(r.causes)) out[k] = (out[k] ?? 0) + v
    return Object.entries(out).map(([k, v]) => `${k} ${v}`).join(', ')
  }
  const line = (mode) => {
    const rows = results[mode]
    const failed = sum(rows, (r) => r.failed)
    return [
      `kctl_warm_spare = ${mode}`,
      String(rows.length),
      `${fmt.int(median(rows.map((r) => r.backMs)))} ms`,
      `${fmt.int(Math.max(...rows.map((r) => r.backMs)))} ms`,
      `${failed} / ${fmt.int(sum(rows, (r) => r.total))}${failed ? ` (${causes(rows)})` : ''}`,
      `${median(rows.map((r) => r.rss.serving)).toFixed(0)} MiB`,
      mode === 'on' ? `${median(rows.map((r) => r.rss.spare)).toFixed(0)} MiB` : '—',
    ]
  }
  console.log(`\nSIGKILL of the serving process of an embedded node (${ROUTES} route${ROUTES === 1 ? '' : 's'}) under ${RPS} requests/s, ${ROUNDS} rounds each, alternating.\n`)
  console.log(markdownTable(['node', 'kills', 'serves again (median)', 'serves again (max)', 'failed / requests', 'RSS serving', 'RSS spare'], [line('on'), line('off')]))
  const ratio = median(results.on.map((r) => r.backMs)) / median(results.off.map((r) => r.backMs))
  console.log(`\nServes again, spare on ÷ off (medians): ${fmt.ratio(ratio)}`)
  console.log(`\nMachine: ${machine()}`)
}

main().catch((err) => {
  console.error(err.message)
  process.exitCode = 1
})
