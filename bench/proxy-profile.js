#!/usr/bin/env node
/**
 * CPU profile of kctl's proxy under wrk load: starts the target with `node --cpu-prof`,
 * loads it, stops it (the profile is written on exit) and prints the top frames by self
 * time, then by script (file) self time.
 *
 *   node bench/proxy-profile.js [kctl-1|kctl-plugins|…] [seconds]   # default kctl-1, 8 s
 *
 * BENCH_PROFILE_DIR=<dir> keeps the .cpuprofile there (else it goes with the run's temp dir);
 * open it in Chrome DevTools.
 */
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {availableParallelism} from 'node:os'
import {startOrigin} from './lib/nginx.js'
import {freePort, stopOnExit, tempDir} from './lib/proc.js'
import {markdownTable} from './lib/stats.js'
import {ensureTool} from './lib/tools.js'
import {runWrk} from './lib/wrk.js'
import {startTarget} from './proxy.js'

/** Self time per frame (function + file:line) and per file, from a .cpuprofile. */
export function summarise(profile, top = 25) {
  const dt = new Map()
  for (let i = 0; i < profile.samples.length; i++) dt.set(profile.samples[i], (dt.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0))
  const total = [...dt.values()].reduce((a, b) => a + b, 0)
  const byFrame = new Map()
  const byFile = new Map()
  for (const n of profile.nodes) {
    const t = dt.get(n.id) ?? 0
    if (!t) continue
    const cf = n.callFrame
    const file = (cf.url || '(native)').replace(/^file:\/\//, '').replace(/.*\/(node_modules|dist)\//, '$1/')
    const key = `${cf.functionName || '(anonymous)'} ${file}:${cf.lineNumber + 1}`
    byFrame.set(key, (byFrame.get(key) ?? 0) + t)
    byFile.set(file, (byFile.get(file) ?? 0) + t)
  }
  const rows = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, t]) => [`\`${k}\``, `${((100 * t) / total).toFixed(1)}%`])
  return `Top frames by self time:\n\n${markdownTable(['frame', 'self'], rows(byFrame))}\n\nBy file:\n\n${markdownTable(['file', 'self'], rows(byFile).slice(0, 15))}`
}

async function main() {
  const [name = 'kctl-1', secs = '8'] = process.argv.slice(2)
  stopOnExit()
  ensureTool('wrk')
  const n = availableParallelism()
  const loadCpu = n > 1 ? String(n - 1) : undefined
  const proxyCpu = n > 1 ? '0' : undefined
  const dir = process.env.BENCH_PROFILE_DIR ?? tempDir('kctl-prof-')
  const originPort = await freePort()
  await startOrigin(originPort, loadCpu)
  const t = await startTarget(name, originPort, {cpus: proxyCpu, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`]})
  const r = await runWrk({url: t.url, headers: t.headers, seconds: Number(secs), connections: 50, cpus: loadCpu})
  await t.proc.stop('SIGTERM', 10_000)
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))
  if (!file) throw new Error(`no profile written: ${t.proc.output()}`)
  console.log(`${name} under wrk: ${Math.round(r.rps)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms (with the profiler on)\n`)
  console.log(summarise(JSON.parse(readFileSync(join(dir, file), 'utf8'))))
}

main().catch((err) => {
  console.error(err.stack ?? err)
  process.exitCode = 1
}).finally(async () => {
  const {stopAll} = await import('./lib/proc.js')
  await stopAll()
})
