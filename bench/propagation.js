#!/usr/bin/env node
/**
 * Hybrid-mode propagation: the time from an Admin API write returning on the control plane
 * to every data plane reporting the new configuration hash back to it.
 *
 *   node bench/propagation.js          # 20 writes (BENCH_WRITES=N to change)
 *
 * Starts its own cluster through the real CLI (`kctl init` on a hybrid spec: embedded
 * Postgres, 1 CP, 2 DPs, shared certificate) on free ports in a temp dir, and destroys it
 * at the end, even on failure. Writes are sequential: each creates a service, then the
 * CP's `/status` configuration_hash and `/clustering/data-planes` are polled every 2 ms
 * until the hash has changed and both DP rows carry it. Bounded: gives up after 60 s.
 */
import {spawn} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {join} from 'node:path'
import {freePort, stopAll, tempDir} from './lib/proc.js'
import {fmt, machine, median, percentile} from './lib/stats.js'

const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const WRITES = Number(process.env.BENCH_WRITES ?? 20)
const DATA_PLANES = 2
const DEADLINE = Date.now() + 60_000

function kctl(cwd, dataDir, ...args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {cwd, env: {...process.env, KCTL_DATA_DIR: dataDir, CI: 'true', NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.on('close', (code) => resolve({code, out}))
  })
}

async function spec() {
  const p = {admin: await freePort(), status: await freePort(), cluster: await freePort()}
  const dps = []
  for (let i = 1; i <= DATA_PLANES; i++) dps.push(`    - {name: dp-${i}, role: data_plane, proxy_listen: "127.0.0.1:${await freePort()}", status_listen: "127.0.0.1:${await freePort()}"}`)
  const text = `apiVersion: kctl/v1\nkind: Cluster\nmetadata: {name: bench-propagation}\nspec:\n  mode: hybrid\n  database: {embedded: true}\n  certificates: {mtls: shared, days: 1}\n  nodes:\n    - {name: cp-1, role: control_plane, admin_listen: "127.0.0.1:${p.admin}", cluster_listen: "127.0.0.1:${p.cluster}", status_listen: "127.0.0.1:${p.status}"}\n${dps.join('\n')}\n`
  return {text, admin: `http://127.0.0.1:${p.admin}`, status: `http://127.0.0.1:${p.status}`}
}

const getJson = async (url) => (await fetch(url)).json()

/** Polls until the CP's hash differs from `before` and every DP row carries it. */
async function converged(cp, before) {
  for (;;) {
    if (Date.now() > DEADLINE) throw new Error('gave up: the benchmark ran past 60 s')
    const hash = (await getJson(`${cp.status}/status`)).configuration_hash
    if (hash !== before) {
      const rows = (await getJson(`${cp.admin}/clustering/data-planes`)).data
      if (rows.length === DATA_PLANES && rows.every((r) => r.config_hash === hash)) return hash
    }
    await new Promise((r) => setTimeout(r, 2))
  }
}

async function measure(cp) {
  let hash = (await getJson(`${cp.status}/status`)).configuration_hash
  const times = []
  for (let i = 0; i < WRITES; i++) {
    const res = await fetch(`${cp.admin}/services`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({name: `bench-${i}`, url: 'http://127.0.0.1:9/'})})
    if (res.status !== 201) throw new Error(`write ${i}: HTTP ${res.status} ${await res.text()}`)
    const t0 = performance.now()
    hash = await converged(cp, hash)
    times.push(performance.now() - t0)
  }
  return times.sort((a, b) => a - b)
}

async function main() {
  const dir = tempDir('kctl-bench-propagation-')
  const cwd = join(dir, 'work')
  const dataDir = join(dir, 'data')
  mkdirSync(cwd)
  const cp = await spec()
  writeFileSync(join(cwd, 'kctl.yaml'), cp.text)
  const destroy = () => kctl(cwd, dataDir, 'destroy', '--yes')
  process.once('SIGINT', () => void destroy().finally(() => process.exit(130)))
  try {
    const up = await kctl(cwd, dataDir, 'init')
    if (up.code !== 0) throw new Error(`kctl init failed:\n${up.out}`)
    const t = await measure(cp)
    console.log(`Hybrid propagation, ${DATA_PLANES} DPs, ${t.length} writes: median ${fmt.ms(median(t))} ms, p90 ${fmt.ms(percentile(t, 90))} ms, max ${fmt.ms(t[t.length - 1])} ms`)
    console.log(`Machine: ${machine()}`)
  } finally {
    const down = await destroy()
    if (down.code !== 0) console.error(`kctl destroy failed:\n${down.out}`)
    else await stopAll() // removes the temp dir
  }
}

main().catch((err) => {
  console.error(err.message)
  process.exitCode = 1
})
