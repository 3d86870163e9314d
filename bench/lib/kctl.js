/**
 * A cluster built by the real CLI for benchmarks: `kctl init` on a spec with free
 * 127.0.0.1 ports (embedded Postgres) in a temp dir, and the calls the benchmarks make
 * on it. Shared by bench/operations.js and bench/supervisor.js.
 */
import {spawn} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {freePort, tempDir} from './proc.js'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const BIN = join(ROOT, 'bin', 'run.js')
const OP_LIMIT_MS = 120_000 // no single command may take longer
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** One kctl run in the cluster's folder; rejects on an exit code not in `ok` or after OP_LIMIT_MS. Resolves with its stdout. */
export function kctl(c, ...args) {
  const opts = typeof args[args.length - 1] === 'object' ? args.pop() : {}
  const ok = opts.ok ?? [0]
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [opts.bin ?? BIN, ...args], {cwd: c.cwd, env: {...process.env, KCTL_DATA_DIR: c.dataDir, CI: 'true', NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const t = setTimeout(() => child.kill('SIGTERM'), OP_LIMIT_MS)
    child.on('close', (code, signal) => {
      clearTimeout(t)
      if (ok.includes(code)) resolve(out)
      else reject(new Error(`kctl ${args.join(' ')} exited ${code ?? signal}:\n${out}${err}`))
    })
  })
}

export async function getJson(url) {
  const res = await fetch(url)
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`)
  return res.json()
}

export async function postJson(url, body) {
  const res = await fetch(url, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(body)})
  if (res.status !== 201) throw new Error(`POST ${url}: HTTP ${res.status} ${await res.text()}`)
}

/** Polls `fn` until it returns a value other than undefined; throws after `ms`. */
export async function until(what, fn, ms = 60_000) {
  const end = Date.now() + ms
  for (;;) {
    const v = await fn().catch(() => undefined)
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`gave up waiting (${ms} ms): ${what}`)
    await sleep(20)
  }
}

/** Every node of the cluster from `kctl status --json`: name → {role, pid, proxy, status}. */
export async function nodes(c) {
  const s = JSON.parse(await kctl(c, 'status', '--json', {ok: [0, 1]})) // 1: a node is down, still a full answer
  const url = (hostPort) => (hostPort ? `http://${hostPort}` : undefined)
  return new Map(s.nodes.map((n) => [n.name, {role: n.role, pid: n.pid, proxy: url(n.listen.proxy), status: url(n.listen.status), admin: url(n.listen.admin), cluster: n.listen.cluster}]))
}

/** A cluster from `spec` (YAML) through `kctl init`; `destroy()` runs `kctl destroy --yes`. */
export async function initCluster(name, spec) {
  const dir = tempDir(`kctl-bench-${name}-`)
  const c = {cwd: join(dir, 'work'), dataDir: join(dir, 'data')}
  mkdirSync(c.cwd)
  writeFileSync(join(c.cwd, 'kctl.yaml'), spec)
  c.destroy = () => kctl(c, 'destroy', '--yes')
  try {
    await kctl(c, 'init')
  } catch (err) {
    await c.destroy().catch(() => {})
    throw err
  }
  return c
}

export const listen = async () => `"127.0.0.1:${await freePort()}"`

/** An embedded cluster's spec: one node, `conf` (flat key: value) added to its kong.conf. */
export async function embeddedSpec({name = 'bench-ops-embedded', ports, conf = {}} = {}) {
  const p = ports ?? {proxy: await listen(), admin: await listen(), status: await listen()}
  const extra = Object.keys(conf).length ? `, conf: {${Object.entries(conf).map(([k, v]) => `${k}: ${JSON.stringify(String(v))}`).join(', ')}}` : ''
  return `apiVersion: kctl/v1\nkind: Cluster\nmetadata: {name: ${name}}\nspec:\n  mode: embedded\n  database: {embedded: true}\n  nodes:\n    - {name: node-1, role: traditional, proxy_listen: ${p.proxy}, admin_listen: ${p.admin}, status_listen: ${p.status}${extra}}\n`
}

/** A service to the origin and the route `/r` on it, then waits until every proxy in `proxies` serves it. */
export async function route(admin, originPort, proxies) {
  await postJson(`${admin}/services`, {name: 'origin', url: `http://127.0.0.1:${originPort}`})
  await postJson(`${admin}/services/origin/routes`, {name: 'r', paths: ['/r']})
  await allServe(proxies)
}

export const allServe = (proxies) => Promise.all(proxies.map((p) => until(`${p}/r answers 200`, async () => ((await fetch(`${p}/r`)).status === 200 ? true : undefined))))

export const proxiesOf = (ns) => [...ns.values()].filter((n) => n.proxy).map((n) => n.proxy)

