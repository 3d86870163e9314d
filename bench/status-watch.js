#!/usr/bin/env node
/**
 * `kctl status --watch`: time to the first frame, and CPU use with 100 data
 * planes at the default 1 s interval.
 *
 * The 100 DPs are simulated: an in-process HTTP server stands in for the control plane's
 * status listener and Admin API (`/status`, `/status/ready`, `/clustering/data-planes`
 * with 100 rows whose `last_seen` moves as 30 s pings would). The dashboard itself is the
 * real CLI in a real terminal (tmux), found through kctl.yaml + state like any cluster.
 * CPU is the dashboard process's user+system time (/proc) over the measuring window.
 *
 * Usage: npm run build && node bench/status-watch.js   (about 30 s; BENCH_SECONDS=20)
 */
import {execFileSync} from 'node:child_process'
import {randomUUID} from 'node:crypto'
import {mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:http'
import {cpus, tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20)
const DPS = 100
const HASH = 'a'.repeat(32)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

const start = Math.floor(Date.now() / 1000)
const rows = Array.from({length: DPS}, (_, i) => ({
  id: randomUUID(),
  hostname: `edge-${String(i + 1).padStart(3, '0')}`,
  ip: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`,
  config_hash: HASH,
  version: '3.9.0',
  sync_status: 'normal',
  labels: {region: i % 2 ? 'eu' : 'us'},
  cert_details: {expiry_timestamp: start + 1000 * 86_400},
  phase: i % 30,
}))

function dataPlanes() {
  const now = Math.floor(Date.now() / 1000)
  // Each DP pings every 30 s, staggered: last_seen is the latest ping time.
  const data = rows.map(({phase, ...r}) => ({...r, last_seen: now - ((now - phase) % 30), updated_at: now, ttl: 1209600}))
  return {data, next: null}
}

function serve(handler) {
  const server = createServer((req, res) => {
    const body = JSON.stringify(handler(req.url.split('?')[0]))
    res.writeHead(200, {'content-type': 'application/json'})
    res.end(body)
  })
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r({server, port: server.address().port})))
}

function setUp(adminPort, statusPort) {
  const dir = mkdtempSync(join(tmpdir(), 'kctl-bench-status-'))
  const cwd = join(dir, 'work')
  const stateDir = join(dir, 'data', 'clusters', 'bench')
  const prefix = join(stateDir, 'nodes', 'cp-1')
  mkdirSync(cwd, {recursive: true})
  mkdirSync(join(prefix, 'logs'), {recursive: true})
  const listen = {admin: `127.0.0.1:${adminPort}`, status: `127.0.0.1:${statusPort}`, cluster: '127.0.0.1:1'}
  writeFileSync(join(cwd, 'kctl.yaml'), `apiVersion: kctl/v1
kind: Cluster
metadata: {name: bench}
spec:
  mode: hybrid
  database: {url: "postgres://kong@127.0.0.1:1/kong"}
  nodes:
    - {name: cp-1, role: control_plane, admin_listen: "${listen.admin}", status_listen: "${listen.status}", cluster_listen: "${listen.cluster}"}
    - {name: dp-0, role: data_plane, proxy_listen: "127.0.0.1:2", status_listen: "127.0.0.1:3"}
`)
  writeFileSync(join(prefix, 'kong.conf'), 'cluster_ping_interval = 30\n')
  // The simulated CP is this process: its pid makes cp-1 "running".
  const node = {name: 'cp-1', role: 'control_plane', prefix, confPath: join(prefix, 'kong.conf'), logFile: join(prefix, 'logs', 'node.log'), pid: process.pid, intent: 'running', listen}
  const state = {version: 1, name: 'bench', mode: 'hybrid', specPath: join(cwd, 'kctl.yaml'), createdAt: new Date().toISOString(), connection: {host: '127.0.0.1', port: 1, user: 'kong', database: 'kong'}, nodes: {'cp-1': node}}
  writeFileSync(join(stateDir, 'state.json'), JSON.stringify(state))
  return {dir, cwd, dataDir: join(dir, 'data')}
}

const cpuTicks = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ')
  return Number(fields[11]) + Number(fields[12])
}

function childOf(ppid) {
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8')
      if (Number(f.slice(f.lastIndexOf(')') + 2).split(' ')[1]) === ppid) return Number(p)
    } catch {}
  }
  return undefined
}

const admin = await serve((path) => (path === '/clustering/data-planes' ? dataPlanes() : {message: 'not found'}))
const status = await serve(() => ({configuration_hash: HASH, connected_data_planes: DPS, database: {reachable: true}, memory: {}}))
const env = setUp(admin.port, status.port)
const socket = `kctl-bench-${process.pid}`
const tmux = (...a) => execFileSync('tmux', ['-L', socket, ...a], {encoding: 'utf8'})
try {
  const t0 = Date.now()
  tmux('-f', '/dev/null', 'new-session', '-d', '-s', 'b', '-x', '200', '-y', '50', '-c', env.cwd, `env -u CI KCTL_DATA_DIR='${env.dataDir}' ${process.execPath} ${process.env.BENCH_NODE_FLAGS ?? ''} ${join(ROOT, 'bin', 'run.js')} status --watch; sleep 30`)
  while (!/edge-\d{3}/.test(tmux('capture-pane', '-p', '-t', 'b')) || !tmux('capture-pane', '-p', '-t', 'b').includes(`${DPS}/${DPS} DPs in sync`)) {
    if (Date.now() - t0 > 8_000) throw new Error(`no first frame:\n${tmux('capture-pane', '-p', '-t', 'b')}`)
    await sleep(5)
  }
  const firstFrameMs = Date.now() - t0
  const pid = childOf(Number(tmux('display', '-p', '-t', 'b', '#{pane_pid}').trim()))
  await sleep(2000)
  const c0 = cpuTicks(pid)
  const w0 = Date.now()
  await sleep(SECONDS * 1000)
  const cpu = ((cpuTicks(pid) - c0) / 100 / ((Date.now() - w0) / 1000)) * 100
  tmux('send-keys', '-t', 'b', 'q')
  console.log(`machine: ${cpus().length} cores (${cpus()[0].model.trim()}), Node ${process.version}`)
  console.log(`first frame (command start → header with ${DPS}/${DPS} DPs and rows on a 200×50 terminal): ${firstFrameMs} ms`)
  console.log(`CPU, ${DPS} DPs, --interval 1, over ${SECONDS} s: ${cpu.toFixed(2)}% of one core`)
} finally {
  try {
    tmux('kill-server')
  } catch {}
  admin.server.close()
  status.server.close()
  rmSync(env.dir, {recursive: true, force: true})
}
