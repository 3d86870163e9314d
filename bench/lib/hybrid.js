/**
 * A hybrid cluster for benchmarks, built from conf files as the tests build it: a real
 * throwaway Postgres (fsync off), the shared cluster certificate, one control plane and
 * data planes as real node processes (`dist/src/runtime/main.js --conf …`) on free
 * 127.0.0.1 ports. Every process is stopped by pid through proc.js (`stopAll`).
 * Also: /proc sampling (RSS, CPU) and the /kctl/sync events for N routes.
 */
import {randomUUID} from 'node:crypto'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import pg from 'pg'
import {createDatabase} from '../../dist/src/cluster/postgres.js'
import {generateClusterCertificate} from '../../dist/src/pki/index.js'
import {migrate} from '../../dist/src/runtime/db/migrations.js'
import {startTestPostgres} from '../../dist/test/helpers/postgres.js'
import {freePort, onStop, startProcess, tempDir} from './proc.js'

const MAIN = fileURLToPath(new URL('../../dist/src/runtime/main.js', import.meta.url))
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Postgres + a migrated database + the cluster certificate, all removed by `stopAll()`. */
export async function startBase() {
  const dir = tempDir('kctl-bench-hybrid-')
  const postgres = await startTestPostgres('bench')
  onStop(() => postgres.stop())
  const conn = {host: postgres.host, port: postgres.port, user: postgres.user, password: postgres.password}
  await createDatabase(conn, 'kong')
  await migrate({...conn, database: 'kong'})
  const c = await generateClusterCertificate({days: 1})
  const certFile = join(dir, 'cluster.crt')
  const keyFile = join(dir, 'cluster.key')
  writeFileSync(certFile, c.cert)
  writeFileSync(keyFile, c.key, {mode: 0o600})
  const db = new pg.Pool({...conn, database: 'kong', max: 2})
  db.on('error', () => {}) // idle clients see the server stop at the end
  onStop(() => db.end())
  return {dir, postgres, db, cert: c.cert, key: c.key, certFile, keyFile}
}

function spawnNode(base, name, values, nodeArgs = []) {
  const prefix = tempDir(`kctl-bench-${name}-`)
  const conf = join(prefix, 'kong.conf')
  writeFileSync(conf, Object.entries({prefix, ...values}).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n')
  const proc = startProcess(name, process.execPath, [...nodeArgs, MAIN, '--conf', conf])
  // The last 8 KiB of output drown in per-DP notices at 1,000 DPs: keep warnings apart.
  const warnings = []
  const keep = (d) => warnings.push(...String(d).split('\n').filter((l) => /\[(warn|error|crit|alert|emerg)\]/.test(l) && warnings.length < 200))
  proc.child.stdout.on('data', keep)
  proc.child.stderr.on('data', keep)
  proc.warnings = () => warnings
  // when each configuration was logged as applied (a data plane logs it once its proxy
  // serves it, when /status would report it): seen without polling the node
  const applied = new Map() // hash → epoch ms the line was read
  const waiting = new Map() // hash → resolve
  let partial = ''
  const watch = (d) => {
    const at = performance.timeOrigin + performance.now()
    const lines = (partial + d).split('\n')
    partial = lines.pop()
    for (const l of lines) {
      const m = /configuration ([0-9a-f]{32}) applied/.exec(l)
      if (!m || applied.has(m[1])) continue
      applied.set(m[1], at)
      waiting.get(m[1])?.(at)
    }
  }
  proc.child.stdout.on('data', watch)
  proc.child.stderr.on('data', watch)
  proc.appliedAt = (hash, timeoutMs = 60_000) => {
    if (applied.has(hash)) return Promise.resolve(applied.get(hash))
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${name} did not log configuration ${hash} applied within ${timeoutMs} ms`)), timeoutMs)
      waiting.set(hash, (at) => (clearTimeout(t), waiting.delete(hash), resolve(at)))
    })
  }
  return {proc, prefix}
}

async function waitReady(proc, status, ms = 30_000) {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited (${proc.child.exitCode}):\n${proc.output()}`)
    if ((await fetch(`${status}/status/ready`).catch(() => null))?.status === 200) return
    await sleep(50)
  }
  throw new Error(`${proc.name} not ready after ${ms} ms:\n${proc.output()}`)
}

/**
 * The serving process of a supervised node: its supervisor only watches, so the RSS and CPU
 * of a node are this process's (supervisor.json names it once it runs).
 */
export async function servingPid(prefix, supervisorPid) {
  for (let i = 0; i < 200; i++) {
    try {
      const r = JSON.parse(readFileSync(join(prefix, 'supervisor.json'), 'utf8'))
      if (r.state === 'running' && r.serving_pid) return r.serving_pid
    } catch {}
    await sleep(50)
  }
  throw new Error(`no serving process recorded in ${prefix}/supervisor.json (supervisor ${supervisorPid})`)
}

/** A control plane on the base's database; `extra` adds conf keys. `pid`: its serving process. */
export async function startControlPlane(base, extra = {}) {
  const p = {admin: await freePort(), status: await freePort(), cluster: await freePort()}
  const {postgres} = base
  const {proc, prefix} = spawnNode(base, 'cp', {
    role: 'control_plane',
    pg_host: postgres.host, pg_port: postgres.port, pg_user: postgres.user, pg_password: postgres.password, pg_database: 'kong',
    admin_listen: `127.0.0.1:${p.admin}`, status_listen: `127.0.0.1:${p.status}`, cluster_listen: `127.0.0.1:${p.cluster}`,
    cluster_cert: base.certFile, cluster_cert_key: base.keyFile,
    ...extra,
  })
  const status = `http://127.0.0.1:${p.status}`
  await waitReady(proc, status)
  return {proc, pid: await servingPid(prefix, proc.pid), prefix, admin: `http://127.0.0.1:${p.admin}`, status, cluster: `127.0.0.1:${p.cluster}`}
}

/**
 * Node options for real data planes, e.g. BENCH_DP_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p"
 * (the serving process inherits them; a profile is written when it exits).
 */
const dpNodeArgs = () => (process.env.BENCH_DP_NODE_ARGS ?? '').split(' ').filter(Boolean)

/** A real data plane connected to `cp`; resolves once it is ready (has a config) with its node id. `pid`: its serving process. */
export async function startDataPlane(base, cp, name, extra = {}) {
  const p = {proxy: await freePort(), status: await freePort()}
  const {proc, prefix} = spawnNode(base, name, {
    role: 'data_plane', database: 'off', cluster_control_plane: cp.cluster,
    proxy_listen: `127.0.0.1:${p.proxy}`, status_listen: `127.0.0.1:${p.status}`,
    cluster_cert: base.certFile, cluster_cert_key: base.keyFile,
    ...extra,
  }, dpNodeArgs())
  const status = `http://127.0.0.1:${p.status}`
  await waitReady(proc, status)
  return {proc, pid: await servingPid(prefix, proc.pid), prefix, id: readFileSync(join(prefix, 'kong.id'), 'utf8').trim(), proxy: `http://127.0.0.1:${p.proxy}`, proxyPort: p.proxy, status}
}

/**
 * A DB-less node serving `config` (a declarative object, written to its prefix): the same
 * proxy as a data plane's, with no control plane to follow. `pid`: its serving process.
 */
export async function startDblessNode(base, name, config) {
  const p = {proxy: await freePort(), status: await freePort()}
  const file = join(tempDir(`kctl-bench-${name}-config-`), 'kong.json')
  writeFileSync(file, JSON.stringify(config))
  const {proc, prefix} = spawnNode(base, name, {
    role: 'traditional', database: 'off', declarative_config: file,
    proxy_listen: `127.0.0.1:${p.proxy}`, status_listen: `127.0.0.1:${p.status}`, admin_listen: 'off',
  })
  const status = `http://127.0.0.1:${p.status}`
  await waitReady(proc, status, 60_000)
  return {proc, pid: await servingPid(prefix, proc.pid), prefix, proxy: `http://127.0.0.1:${p.proxy}`, status}
}

export const getJson = async (url) => {
  const res = await fetch(url)
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${await res.text()}`)
  return res.json()
}

export async function postJson(url, body, expect = [200, 201]) {
  const res = await fetch(url, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(body)})
  const text = await res.text()
  if (!expect.includes(res.status)) throw new Error(`POST ${url}: HTTP ${res.status} ${text.slice(0, 500)}`)
  return JSON.parse(text)
}

/** The CP's view: every row of `/clustering/data-planes` (all pages), id → config_hash. */
export async function cpHashes(cp) {
  const out = new Map()
  let offset
  do {
    const page = await getJson(`${cp.admin}/clustering/data-planes?size=1000${offset ? `&offset=${offset}` : ''}`)
    for (const r of page.data) out.set(r.id, r.config_hash)
    offset = page.offset
  } while (offset)
  return out
}

/** Polls the CP's view until every id in `ids` reports `hash`; returns the epoch ms it saw that. */
export async function cpSees(cp, ids, hash, {timeoutMs = 60_000, everyMs = 2} = {}) {
  const until = Date.now() + timeoutMs
  for (;;) {
    const rows = await cpHashes(cp)
    const at = performance.timeOrigin + performance.now()
    if (ids.every((id) => rows.get(id) === hash)) return at
    if (Date.now() > until) throw new Error(`the CP did not see ${hash} on all ${ids.length} DPs within ${timeoutMs} ms (${ids.filter((id) => rows.get(id) === hash).length} had it)`)
    await sleep(everyMs)
  }
}

/**
 * When a DP logged `hash` applied (epoch ms the bench read the line; no request to the DP,
 * unlike dpServes, whose polls cost the DP CPU while it applies).
 */
export const dpApplied = (dp, hash, timeoutMs) => dp.proc.appliedAt(hash, timeoutMs)

/** Polls a DP's /status until it serves `hash`; returns the epoch ms it saw that. */
export async function dpServes(dp, hash, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs
  for (;;) {
    const s = await getJson(`${dp.status}/status`).catch(() => ({}))
    if (s.configuration_hash === hash) return performance.timeOrigin + performance.now()
    if (Date.now() > until) throw new Error(`${dp.status} did not serve ${hash} within ${timeoutMs} ms`)
    await sleep(2)
  }
}

/** user+system CPU milliseconds and RSS bytes of a process, from /proc. */
export function procUsage(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(f[11]) + Number(f[12]) // utime + stime, in clock ticks (100/s on Linux)
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024
  return {cpuMs: ticks * 10, rss}
}

/** Samples a pid's RSS every `everyMs`; `stop()` → {peakRss, cpuMs over the window, wallMs}. */
export function sampleProcess(pid, everyMs = 100) {
  const start = procUsage(pid)
  const t0 = performance.now()
  let peakRss = start.rss
  const timer = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, procUsage(pid).rss)
    } catch {}
  }, everyMs)
  return {
    stop() {
      clearInterval(timer)
      const end = procUsage(pid)
      const wallMs = performance.now() - t0
      return {peakRss: Math.max(peakRss, end.rss), endRss: end.rss, cpuMs: end.cpuMs - start.cpuMs, wallMs, cpuPct: ((end.cpuMs - start.cpuMs) / wallMs) * 100}
    },
  }
}

/** /kctl/sync events: one service to `origin` and `routes` routes (`/r/<i>`), or their deletion. */
export function routeEvents(routes, origin = 'http://127.0.0.1:9') {
  const url = new URL(origin)
  const service = {id: randomUUID(), name: 'bench-bulk', protocol: url.protocol.slice(0, -1), host: url.hostname, port: Number(url.port)}
  const ids = Array.from({length: routes}, () => randomUUID())
  return {
    create: [{op: 'create', kind: 'services', entity: service}, ...ids.map((id, i) => ({op: 'create', kind: 'routes', entity: {id, name: `bulk-${i}`, paths: [`/r/${i}`], service: {id: service.id}}}))],
    remove: [...ids.map((id) => ({op: 'delete', kind: 'routes', entity: {id}})), {op: 'delete', kind: 'services', entity: {id: service.id}}],
    /** The same as a declarative configuration. */
    declarative: {_format_version: '3.0', services: [{...service, routes: ids.map((id, i) => ({id, name: `bulk-${i}`, paths: [`/r/${i}`]}))}]},
  }
}

export const mib = (bytes) => (bytes / 2 ** 20).toFixed(0)
