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
 *   npm run build && npx tsc -p tsconfig.json && node bench/hosts.js   # BENCH_SIZES=1,3,9
 *
 * Targets: 9 hosts take at most 2× the time of 1 host; a re-run with nothing to change
 * finishes in under 3 s.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {stopOnExit, tempDir} from './lib/proc.js'
import {fmt, machine, markdownTable} from './lib/stats.js'

const KCTL = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const TESTBED = fileURLToPath(new URL('../dist/test/helpers/testbed.js', import.meta.url))
const SIZES = (process.env.BENCH_SIZES ?? '1,3,9').split(',').map(Number)

if (!existsSync(TESTBED)) {
  console.error('Build first: npx tsc -p tsconfig.json (bench/hosts.js uses the compiled test bed helper).')
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
    const again = kctl(work, env, 'init', '--json')
    if (again.status !== 0) throw new Error(`re-run on ${size} host(s) failed:\n${again.stdout}${again.stderr}`)
    const againJson = JSON.parse(again.stdout)
    const nodes = layout(size).nodes.length
    rows.push({size, nodes, first: first.seconds, firstBytes: sum(firstJson.uploaded), again: again.seconds, againBytes: sum(againJson.uploaded), unchanged: againJson.already_running})
    console.error(`${size} host(s): init ${first.seconds.toFixed(1)} s (${mb(sum(firstJson.uploaded))}), re-run ${again.seconds.toFixed(2)} s (${sum(againJson.uploaded)} bytes, already_running ${againJson.already_running})`)
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
    ['hosts', 'nodes (+ database)', 'init, empty bed', 'sent', 'vs 1 host', 're-run, nothing to change', 'sent on re-run'],
    rows.map((r) => [String(r.size), String(r.nodes), `${r.first.toFixed(1)} s`, mb(r.firstBytes), one ? fmt.ratio(r.first / one.first) : '—', `${r.again.toFixed(2)} s${r.unchanged ? '' : ' (changed something)'}`, `${fmt.int(r.againBytes)} bytes`]),
  ),
)
