/**
 * `kctl doctor`'s checks of one cluster: the spec's ports (free, or held by this cluster's
 * own running processes), and when the cluster runs, its processes and endpoints.
 */
import {basename} from 'node:path'
import {connect} from 'node:net'
import pg from 'pg'
import {hostFor, hostNameOf, processRunning} from '../cluster/hosts/index.js'
import type {Host} from '../cluster/hosts/host.js'
import {connectHost, listenUrl, parseListen} from '../cluster/listen.js'
import {DATABASE_NODE, LISTEN_KEYS, nodeListen, type ClusterSpec} from '../cluster/spec.js'
import type {ClusterState} from '../cluster/state.js'
import {processStateOf} from './cluster.js'
import {fail, pass, type Check} from './doctor-machine.js'
import {createProber} from './status/probe.js'

/** Who of this cluster holds `port` right now (a live process started with it), if anyone. */
async function ownHolder(state: ClusterState | undefined, port: number, hostName: string): Promise<string | undefined> {
  if (!state) return undefined
  const here = (name: string) => hostNameOf(state, name) === hostName
  if (state.embedded && here(DATABASE_NODE) && state.connection.port === port && (await processRunning(state, DATABASE_NODE))) return `${DATABASE_NODE} (pid ${state.embedded.pid})`
  for (const n of Object.values(state.nodes)) {
    if (!here(n.name) || !(await processRunning(state, n.name))) continue
    const ports = Object.values(n.listen).flatMap((v) => {
      const parsed = v ? parseListen(v) : []
      return typeof parsed === 'string' ? [] : parsed.map((a) => a.port)
    })
    if (ports.includes(port)) return `${n.name} (pid ${n.pid})`
  }
  return undefined
}

/** The host a node of the spec goes on, or a failed check when kctl cannot reach that host. */
function specHost(spec: ClusterSpec, name: string, unreachable: Map<string, Check>): Host | undefined {
  try {
    return hostFor(spec, name)
  } catch (err) {
    const host = hostNameOf(spec, name)
    if (!unreachable.has(host)) unreachable.set(host, fail(`host ${host}`, (err as Error).message.replace(/ Nothing was changed\.$/, ' Its ports were not checked.'), (err as {hint?: string}).hint ?? 'See `kctl hosts`.'))
    return undefined
  }
}

/** Every listener of the spec (and the embedded database's port, once known), on the host each is on. */
export async function checkPorts(spec: ClusterSpec, specPath: string, state: ClusterState | undefined): Promise<Check[]> {
  const file = basename(specPath)
  const checks: Check[] = []
  const unreachable = new Map<string, Check>()
  const db = spec.spec.database
  const dbPort = 'embedded' in db ? state?.embedded ? state.connection.port : db.port : undefined
  const dbHost = dbPort !== undefined ? specHost(spec, DATABASE_NODE, unreachable) : undefined
  if (dbPort !== undefined && dbHost) {
    const name = `port ${dbPort}`
    const own = await ownHolder(state, dbPort, dbHost.name)
    if (own) checks.push(pass(name, `the embedded database's port, held by this cluster's ${own}`))
    else if (await dbHost.portFree('127.0.0.1', dbPort)) checks.push(pass(name, `127.0.0.1:${dbPort} (the embedded database) is free`))
    else checks.push(fail(name, `127.0.0.1:${dbPort} (the embedded database's port) is in use by another process`, `Stop what listens on port ${dbPort}, or set spec.database.port in ${file} to a free port.`))
  }
  for (const [i, node] of spec.spec.nodes.entries()) {
    const host = specHost(spec, node.name, unreachable)
    if (!host) continue
    for (const key of LISTEN_KEYS) {
      const value = nodeListen(node, key)
      const parsed = value ? parseListen(value) : []
      if (typeof parsed === 'string') continue // validateSpec refused it already
      for (const a of parsed) {
        const name = `port ${a.port}`
        const where = `${a.host}:${a.port} (${key} of ${node.name})`
        const own = await ownHolder(state, a.port, host.name)
        if (own) checks.push(pass(name, `${where} is held by this cluster's ${own}`))
        else if (await host.portFree(a.host, a.port)) checks.push(pass(name, `${where} is free`))
        else checks.push(fail(name, `${where} is in use by another process`, `Stop what listens on port ${a.port}, or change spec.nodes[${i}].${key} in ${file} to a free port.`))
      }
    }
  }
  return [...checks, ...unreachable.values()]
}

/** True when any process of the cluster runs (or should run). */
export async function clusterRunning(state: ClusterState | undefined): Promise<boolean> {
  if (!state) return false
  if ([state.embedded, ...Object.values(state.nodes)].some((p) => p?.intent === 'running')) return true
  const names = [...(state.embedded ? [DATABASE_NODE] : []), ...Object.keys(state.nodes)]
  return (await Promise.all(names.map((n) => processRunning(state, n)))).some(Boolean)
}

/** The database and every node: is each process alive, do its endpoints answer, is it ready. */
export async function checkRunningCluster(state: ClusterState): Promise<Check[]> {
  const checks: Check[] = [await checkDatabase(state)]
  const prober = createProber({timeoutMs: 3000})
  try {
    for (const n of Object.values(state.nodes)) {
      const s = await processStateOf(state, n.name)
      if (s === 'stopped') {
        checks.push(pass(n.name, `stopped (\`kctl start ${n.name}\` starts it)`))
        continue
      }
      if (s === 'failed') {
        checks.push(fail(n.name, `not running, though it should be (pid ${n.pid ?? '-'} is gone)`, `See why with \`kctl logs ${n.name}\`, then \`kctl start ${n.name}\`.`))
        continue
      }
      const parts: string[] = [`pid ${n.pid}`]
      const problems: string[] = []
      const status = listenUrl(n.listen.status)
      if (status) {
        const probe = await prober.node(status)
        if (probe.ok && probe.ready) parts.push(`status ${status} ready`)
        else problems.push(probe.ok ? `status ${status} answers but is not ready (${probe.error})` : `status ${status} does not answer (${probe.error})`)
      }
      const admin = listenUrl(n.listen.admin)
      if (admin) {
        const err = await httpError(`${admin}/`)
        if (err) problems.push(`Admin API ${admin} does not answer (${err})`)
        else parts.push(`Admin API ${admin} answers`)
      }
      for (const url of proxyAddresses(n.listen.proxy)) {
        const err = await tcpError(url)
        if (err) problems.push(`proxy ${url} does not accept connections (${err})`)
        else parts.push(`proxy ${url} accepts connections`)
      }
      const detail = [...parts, ...problems].join('; ')
      checks.push(problems.length ? fail(n.name, detail, `See \`kctl logs ${n.name}\` and \`kctl status\`; \`kctl restart ${n.name}\` restarts it.`) : pass(n.name, detail))
    }
  } finally {
    await prober.close()
  }
  return checks
}

async function checkDatabase(state: ClusterState): Promise<Check> {
  const c = state.connection
  const where = `${c.host}:${c.port}/${c.database}`
  if (state.embedded) {
    const s = await processStateOf(state, DATABASE_NODE)
    if (s === 'stopped') return pass('database', `embedded Postgres on ${c.host}:${c.port} is stopped`)
    if (s === 'failed') return fail('database', `embedded Postgres on ${c.host}:${c.port} is not running, though it should be`, `See \`kctl logs ${DATABASE_NODE}\`, then \`kctl start ${DATABASE_NODE}\`.`)
  }
  const client = new pg.Client({...c, connectionTimeoutMillis: 3000})
  try {
    await client.connect()
    await client.query('SELECT 1')
    return pass('database', `${state.embedded ? `embedded Postgres (pid ${state.embedded.pid})` : 'Postgres'} at ${where} answers`)
  } catch (err) {
    const fix = state.embedded ? `See \`kctl logs ${DATABASE_NODE}\`; \`kctl restart ${DATABASE_NODE}\` restarts it.` : 'Check that the server runs and spec.database.url is right.'
    return fail('database', `can't query Postgres at ${where}: ${(err as Error).message}`, fix)
  } finally {
    await client.end().catch(() => {})
  }
}

/** A database given by URL, before the cluster runs: can `init` connect to it? */
export async function checkExternalDatabase(url: string): Promise<Check> {
  const u = new URL(url)
  const where = `${u.hostname}:${u.port || 5432}${u.pathname}`
  const client = new pg.Client({connectionString: url, connectionTimeoutMillis: 3000})
  try {
    await client.connect()
    await client.query('SELECT 1')
    return pass('database', `Postgres at ${where} answers`)
  } catch (err) {
    return fail('database', `can't query Postgres at ${where}: ${(err as Error).message}`, 'Check that the server runs and that spec.database.url (user, password, database) is right.')
  } finally {
    await client.end().catch(() => {})
  }
}

function proxyAddresses(value: string | undefined): string[] {
  const parsed = value ? parseListen(value) : []
  return typeof parsed === 'string' ? [] : parsed.map((a) => `${connectHost(a.host)}:${a.port}`)
}

async function httpError(url: string): Promise<string | null> {
  try {
    const res = await fetch(url, {signal: AbortSignal.timeout(3000)})
    await res.arrayBuffer()
    return res.status < 500 ? null : `answered ${res.status}`
  } catch (err) {
    const e = err as {cause?: {code?: string}; name?: string; message: string}
    return e.cause?.code === 'ECONNREFUSED' ? 'connection refused' : e.name === 'TimeoutError' ? 'timed out' : (e.cause as Error | undefined)?.message ?? e.message
  }
}

function tcpError(hostPort: string): Promise<string | null> {
  const i = hostPort.lastIndexOf(':')
  return new Promise((resolve) => {
    const socket = connect({host: hostPort.slice(0, i), port: Number(hostPort.slice(i + 1)), timeout: 3000})
    socket.once('connect', () => {
      socket.destroy()
      resolve(null)
    })
    socket.once('timeout', () => {
      socket.destroy()
      resolve('timed out')
    })
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED' ? 'connection refused' : err.message))
  })
}
