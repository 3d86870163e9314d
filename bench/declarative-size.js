#!/usr/bin/env node
/**
 * Memory and time of `kctl validate` / `kctl apply` against file size, up to the input
 * limits, and of the refusals past them. Each run is a real `bin/run.js` subprocess
 * under `/usr/bin/time` (peak RSS = its maximum resident set). `apply` goes to a real traditional node
 * (node process + throwaway Postgres, fsync off) whose tables are emptied before each
 * run, so every apply creates the whole file.
 * Also the node side: a DB-less node's `POST /config` at growing sizes (time to answer
 * and the node's peak RSS, VmHWM).
 *
 *   npm run build && node bench/declarative-size.js     # BENCH_SIZES=20000,50000,100000,200000 (entities)
 *   BENCH_PARTS=node BENCH_NODE_SIZES=20000,200000 node bench/declarative-size.js
 */
import {spawn} from 'node:child_process'
import {readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {generate} from './declarative.js'
import {startBase, startControlPlane} from './lib/hybrid.js'
import {machine, markdownTable} from './lib/stats.js'
import {freePort, startProcess, stopAll, stopOnExit, tempDir, waitForPort} from './lib/proc.js'

const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const MAIN = fileURLToPath(new URL('../dist/src/runtime/main.js', import.meta.url))
const SIZES = (process.env.BENCH_SIZES ?? '20000,50000,100000,200000').split(',').map(Number)
const NODE_SIZES = (process.env.BENCH_NODE_SIZES ?? '20000,100000,200000').split(',').map(Number)

/**
 * Runs kctl under `/usr/bin/time`; resolves with wall time, CPU time (user + system: what
 * the run costs even when other processes share the cores), exit code, peak RSS (MiB) and
 * stderr's first line.
 */
function kctl(args) {
  return new Promise((resolve) => {
    const started = performance.now()
    const p = spawn('/usr/bin/time', ['-f', 'PEAK_RSS_KB %M CPU_S %U %S', process.execPath, BIN, ...args], {env: {...process.env, CI: 'true', NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
    let err = ''
    p.stdout.resume()
    p.stderr.on('data', (d) => (err += d))
    p.on('close', (code) => {
      const ms = performance.now() - started
      const m = /PEAK_RSS_KB (\d+) CPU_S ([\d.]+) ([\d.]+)/.exec(err)
      resolve({ms, code, rssMiB: Number(m?.[1] ?? 0) / 1024, cpuS: Number(m?.[2] ?? 0) + Number(m?.[3] ?? 0), first: err.split('\n').find((l) => l && !l.startsWith('Command exited')) ?? ''})
    })
  })
}

/** Services with one route each: 2 entities per service, as `bench/declarative.js` writes them. */
function fileOf(dir, entities) {
  const file = join(dir, `kong-${entities}.yaml`)
  writeFileSync(file, generate(entities / 2, 0))
  return {file, bytes: statSync(file).size}
}

const mb = (b) => (b / 1e6).toFixed(1)
/** A table row, also printed to stderr as it is measured. */
const progress = (cells) => (console.error(cells.join(' | ')), cells)
const row = (what, n, bytes, r) => progress([what, n.toLocaleString('en-US'), `${mb(bytes)} MB`, `${(r.ms / 1000).toFixed(2)} s`, `${r.cpuS.toFixed(2)} s`, `${r.rssMiB.toFixed(0)} MiB`, r.code === 0 ? 'ok' : r.first.replace(/^Error: /, '').slice(0, 90)])

async function cliRuns(dir) {
  const base = await startBase()
  const node = await startControlPlane(base, {role: 'traditional'})
  const rows = []
  for (const n of SIZES) {
    const {file, bytes} = fileOf(dir, n)
    rows.push(row('validate', n, bytes, await kctl(['validate', file, '--max-entities', String(Math.max(n, 200_000))])))
  }
  for (const n of SIZES) {
    const {file, bytes} = fileOf(dir, n)
    await base.db.query('TRUNCATE services, routes CASCADE')
    rows.push(row('apply (from empty)', n, bytes, await kctl(['apply', file, '--admin-url', node.admin, '--yes', '--max-entities', String(Math.max(n, 200_000))])))
  }
  return rows
}

/** Refusals: over the entity limit (parsed, then refused) and over the size limit (not read). */
async function refusals(dir) {
  const over = fileOf(dir, 210_000)
  const big = join(dir, 'big.yaml')
  writeFileSync(big, generate(1_050_000 / 2, 0))
  const bigBytes = statSync(big).size
  return [
    row('validate, over the entity limit', 210_000, over.bytes, await kctl(['validate', over.file])),
    row('validate, over the size limit', 1_050_000, bigBytes, await kctl(['validate', big])),
    row('apply, over the size limit', 1_050_000, bigBytes, await kctl(['apply', big, '--admin-url', 'http://127.0.0.1:9', '--yes'])),
  ]
}

/** A DB-less node: POST /config of growing JSON files; its answer time and peak RSS. */
async function nodeRuns(dir) {
  const rows = []
  for (const n of [...NODE_SIZES, 'over']) {
    const [admin, status, proxy] = [await freePort(), await freePort(), await freePort()]
    const prefix = tempDir('kctl-bench-dbless-')
    const conf = join(prefix, 'kong.conf')
    const entities = n === 'over' ? 4_000_000 : n
    writeFileSync(conf, `prefix = ${prefix}\ndatabase = off\nadmin_listen = 127.0.0.1:${admin}\nstatus_listen = 127.0.0.1:${status}\nproxy_listen = 127.0.0.1:${proxy}\nkctl_max_config_entities = ${Math.max(200_000, n === 'over' ? 0 : n)}\n`)
    const p = startProcess('dbless', process.execPath, [MAIN, '--conf', conf])
    await waitForPort(admin, 30_000, p)
    const services = Array.from({length: entities / 2}, (_, i) => ({name: `svc-${i}`, url: `http://upstream-${i % 50}.internal:8080/api`, routes: [{name: `route-${i}`, paths: [`/svc/${i}`]}]}))
    const body = JSON.stringify({_format_version: '3.0', services})
    const cpu = () => readFileSync(`/proc/${p.pid}/stat`, 'utf8').split(') ')[1].split(' ').slice(11, 13).reduce((a, b) => a + Number(b), 0) / 100
    const cpuBefore = cpu()
    const started = performance.now()
    const res = await fetch(`http://127.0.0.1:${admin}/config`, {method: 'POST', headers: {'content-type': 'application/json'}, body})
    const answer = await res.text()
    const ms = performance.now() - started
    const hwm = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
    rows.push(progress(['POST /config', entities.toLocaleString('en-US'), `${mb(Buffer.byteLength(body))} MB`, `${(ms / 1000).toFixed(2)} s`, `${(cpu() - cpuBefore).toFixed(2)} s`, `${hwm.toFixed(0)} MiB`, res.status === 201 ? '201' : `${res.status} ${answer.slice(0, 80)}`]))
    await p.stop()
  }
  return rows
}

async function main() {
  stopOnExit()
  const dir = tempDir('kctl-bench-size-')
  const header = ['run', 'entities', 'file', 'wall time', 'CPU time', 'peak RSS', 'result']
  // BENCH_PARTS=cli,node (default both).
  const parts = (process.env.BENCH_PARTS ?? 'cli,node').split(',')
  const cli = parts.includes('cli') ? await cliRuns(dir) : []
  const refused = parts.includes('cli') ? await refusals(dir) : []
  const node = parts.includes('node') ? await nodeRuns(dir) : []
  console.log(`kctl validate/apply against file size (services with one route each); ${machine()}`)
  console.log(markdownTable(header, [...cli, ...refused]))
  console.log('\nDB-less node, POST /config (JSON body); peak RSS of the node')
  console.log(markdownTable(header, node))
  await stopAll()
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
