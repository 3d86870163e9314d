#!/usr/bin/env node
/**
 * `kctl init` on remote hosts: the time from an empty SSH test bed to a running hybrid
 * cluster on 1, 3 and 9 hosts, the bytes sent to the hosts, and the same again for a re-run
 * that has nothing to change. Hosts are the network namespaces + sshd of
 * test/helpers/testbed.ts (needs root); each size gets a fresh bed, torn down after it.
 *
 *   1 host   the database, cp-1 and dp-1 on h1
 *   3 hosts  the database and cp-1 on h1, dp-1 on h2, dp-2 on h3
 *   9 hosts  the database on h1, cp-1 on h2, cp-2 on h3, dp-1..dp-6 on h4..h9
 *
 *   npm run build && node bench/hosts.js   # BENCH_SIZES=1,3,9  BENCH_RERUNS=3
 *
 * The re-run is timed BENCH_RERUNS times (median, min–max): on a shared machine one run says
 * little. The load average is printed next to each size.
 *
 * Targets: 9 hosts take at most 2× the time of 1 host; a re-run with nothing to change
 * finishes in under 3 s.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {loadavg} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {stopOnExit, tempDir} from './lib/proc.js'
import {fmt, machine, markdownTable, median} from './lib/stats.js'

const KCTL = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const TESTBED = fileURLToPath(new URL('../dist/test/helpers/testbed.js', import.meta.url))
const SIZES = (process.env.BENCH_SIZES ?? '1,3,9').split(',').map(Number)
const RERUNS = Math.max(1, Number(process.env.BENCH_RERUNS ?? 3))

if (!existsSync(TESTBED)) {
  console.error('Build first: npx tsc -p tsconfig.json (bench/hosts.js uses the compiled test bed helper).')
  process.exit(1)
}
if (!existsSync(fileURLToPath(new URL('../oclif.manifest.json', import.meta.url)))) {
  // without it oclif imports every command at each start (about a second more per run)
  console.error('Build with `npm run build` (bench/hosts.js times the CLI as shipped, with its oclif manifest).')
  process.exit(1)
}
const {testbedUnavailable, up} = await import(TESTBED)
const reason = testbedUnavailable()
if (reason) {
  console.error(`The SSH test bed cannot run here: ${reason}`)
  process.exit(1)
}
stopOnExit()

/** Where each size puts the database and the nodes: [host index, node] pairs. */
function layout(size) {
  // cp-1 and dp-1 would both take status_listen 127.0.0.1:8007 on h1: dp-1's is moved by hand
  if (size === 1) return {db: 1, nodes: [[1, 'cp-1', 'control_plane'], [1, 'dp-1', 'data_plane', 'status_listen: 127.0.0.1:8107']]}
  if (size === 3) return {db: 1, nodes: [[1, 'cp-1', 'control_plane'], [2, 'dp-1', 'data_plane'], [3, 'dp-2', 'data_plane']]}
  if (size === 9) {
    const dps = Array.from({length: 6}, (_, i) => [i + 4, `dp-${i + 1}`, 'data_plane'])
    return {db: 1, nodes: [[2, 'cp-1', 'control_plane'], [3, 'cp-2', 'control_plane'], ...dps]}
  }
  throw new Error(`no layout for ${size} hosts (1, 3 or 9)`)
}

function spec(bed, size) {
  const {db, nodes} = layout(size)
  const hosts = bed.hosts.map((h) => `    - {name: ${h.name}, ssh: {address: ${h.address}}}`).join('\n')
  const lines = nodes.map(([h, name, role, extra]) => `    - {name: ${name}, role: ${role}, host: h${h}${extra ? `, ${extra}` : ''}}`).join('\n')
  return `apiVersion: kctl/v1
kind: Cluster
metadata: {name: bench${size}}
spec:
  mode: hybrid
  ssh: {user: root, identityFile: ${bed.key}, knownHostsFile: ${bed.knownHosts}, configFile: /dev/null}
  hosts:
${hosts}
  database: {embedded: true, host: h${db}}
  nodes:
${lines}
`
}

function kctl(cwd, env, ...args) {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(process.execPath, [KCTL, ...args], {cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  return {...r, seconds}
}

const sum = (o) => Object.values(o ?? {}).reduce((a, b) => a + b, 0)
const mb = (n) => `${(n / 2 ** 20).toFixed(1)} MB`

const rows = []
for (const size of SIZES) {
  const bed = await up(size)
  const dir = tempDir(`kctl-hosts-bench-${size}-`)
  const work = join(dir, 'work')
  mkdirSync(work, {recursive: true})
  const env = {...process.env, KCTL_DATA_DIR: join(dir, 'data'), CI: 'true'}
  try {
    writeFileSync(join(work, 'kctl.yaml'), spec(bed, size))
    const first = kctl(work, env, 'init', '--json')
    if (first.status !== 0) throw new Error(`init on ${size} host(s) failed:\n${first.stdout}${first.stderr}`)
    const firstJson = JSON.parse(first.stdout)
    const reruns = []
    for (let i = 0; i < RERUNS; i++) {
      const again = kctl(work, env, 'init', '--json')
      if (again.status !== 0) throw new Error(`re-run on ${size} host(s) failed:\n${again.stdout}${again.stderr}`)
      const j = JSON.parse(again.stdout)
      reruns.push({seconds: again.seconds, bytes: sum(j.uploaded), unchanged: j.already_running})
    }
    const times = reruns.map((r) => r.seconds)
    const load = loadavg()[0]
    const nodes = layout(size).nodes.length
    const againBytes = Math.max(...reruns.map((r) => r.bytes))
    const unchanged = reruns.every((r) => r.unchanged)
    rows.push({size, nodes, first: first.seconds, firstBytes: sum(firstJson.uploaded), again: median(times), min: Math.min(...times), max: Math.max(...times), againBytes, unchanged, load})
    console.error(`${size} host(s): init ${first.seconds.toFixed(1)} s (${mb(sum(firstJson.uploaded))}), re-runs ${times.map((t) => t.toFixed(2)).join(', ')} s (${againBytes} bytes, already_running ${unchanged}), load average ${load.toFixed(1)}`)
    const d = kctl(work, env, 'destroy', '--yes')
    if (d.status !== 0) console.error(`destroy failed: ${d.stderr}`)
  } finally {
    await bed.down()
  }
}

const one = rows.find((r) => r.size === 1)
console.log(`Machine: ${machine()}\n`)
console.log(
  markdownTable(
    ['hosts', 'nodes (+ database)', 'init, empty bed', 'sent', 'vs 1 host', `re-run, nothing to change (median of ${RERUNS}, min–max)`, 'sent on re-run', 'load average (1 min)'],
    rows.map((r) => [String(r.size), String(r.nodes), `${r.first.toFixed(1)} s`, mb(r.firstBytes), one ? fmt.ratio(r.first / one.first) : '—', `${r.again.toFixed(2)} s (${r.min.toFixed(2)}–${r.max.toFixed(2)})${r.unchanged ? '' : ' (changed something)'}`, `${fmt.int(r.againBytes)} bytes`, r.load.toFixed(1)]),
  ),
)
