/**
 * `node_worker_processes = 2` with real processes: a traditional node over a real
 * Postgres and a DP fed by a CP. Requests on fresh connections are spread over both
 * workers (the primary hands connections out round-robin), an Admin API write is live on
 * every worker when it returns, a killed worker is replaced, SIGTERM drains and exits 0.
 */
import assert from 'node:assert/strict'
import {request} from 'node:http'
import {before, describe, test} from 'node:test'
import {findFreePort} from '../../src/kit/ports.js'
import {clusterBed, spawnNode} from '../helpers/nodes.js'
import {until} from '../helpers/until.js'

const bed = clusterBed('kctl-workers-')
const {dir, certFile, keyFile} = bed

/** GET on a connection of its own, so the primary hands each one to the next worker. */
const fresh = (url: string) =>
  new Promise<number>((resolve, reject) => {
    const req = request(url, {agent: false, headers: {connection: 'close'}}, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end()
  })
const statuses = async (url: string, n: number) => {
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push(await fresh(url))
  return out
}
const send = (method: string, url: string, body?: unknown) =>
  fetch(url, {method, headers: {'content-type': 'application/json'}, body: body === undefined ? undefined : JSON.stringify(body)}).then(async (r) => ({status: r.status, body: await r.json()}))
const getStatus = async (url: string) => (await fetch(`${url}/status`)).json()
const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function freshDatabase(name: string): Promise<string> {
  return (await bed.pg.migratedDatabase(name)).database
}

async function ports(n: number): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push(await findFreePort())
  return out
}

describe('node_worker_processes = 2', () => {
  test('traditional node: both workers serve, writes are live on each, a killed worker is replaced, SIGTERM exits 0', async () => {
    const db = await freshDatabase('workers_traditional')
    const [proxyPort, adminPort, statusPort] = await ports(3)
    const [proxy, admin, status] = [proxyPort, adminPort, statusPort].map((p) => `http://127.0.0.1:${p}`)
    const node = spawnNode(dir, {
      pg_host: bed.pg.host, pg_port: bed.pg.port, pg_user: bed.pg.user, pg_password: bed.pg.password, pg_database: db,
      proxy_listen: `127.0.0.1:${proxyPort}`, admin_listen: `127.0.0.1:${adminPort}`, status_listen: `127.0.0.1:${statusPort}`,
      node_worker_processes: 2, log_level: 'info',
    }, {status})
    await node.waitReady()
    const first = await getStatus(status)
    const pids: number[] = first.server.workers.map((w: {pid: number}) => w.pid)
    assert.equal(pids.length, 2)
    assert.ok(!pids.includes(node.proc.pid!), 'the workers are processes of their own')

    assert.equal((await send('POST', `${admin}/plugins`, {name: 'prometheus', config: {status_code_metrics: true}})).status, 201)
    assert.equal((await send('POST', `${admin}/services`, {name: 'echo', url: bed.upstreamUrl})).status, 201)
    assert.equal((await send('POST', `${admin}/services/echo/routes`, {name: 'r1', paths: ['/one']})).status, 201)
    assert.deepEqual(await statuses(`${proxy}/one`, 10), Array(10).fill(200), 'the new route is live on both workers')
    assert.equal((await send('PATCH', `${admin}/routes/r1`, {paths: ['/two']})).status, 200)
    assert.deepEqual(await statuses(`${proxy}/one`, 10), Array(10).fill(404), 'the old path is gone on both workers')
    assert.deepEqual(await statuses(`${proxy}/two`, 10), Array(10).fill(200), 'the new path is live on both workers')

    const spread = await getStatus(status)
    for (const w of spread.server.workers) assert.ok(w.total_requests >= 5, `worker ${w.pid} served ${w.total_requests} of 30 requests`)
    assert.equal(spread.server.total_requests, spread.server.workers.reduce((a: number, w: {total_requests: number}) => a + w.total_requests, 0))
    const metrics = await (await fetch(`${status}/metrics`)).text()
    const count = (code: number) => Number(metrics.match(new RegExp(`kong_http_requests_total\\{[^}]*code="${code}"[^}]*\\} (\\d+)`))?.[1] ?? 0)
    assert.equal(count(200), 20, 'the 200s of both workers are summed')

    process.kill(pids[0], 'SIGKILL')
    await node.waitOutput(new RegExp(`proxy worker ${pids[0]} exited \\(killed by SIGKILL\\); starting a new one`))
    await node.waitOutput(/proxy worker \d+ serving configuration [1-9]/)
    await node.waitReady()
    const replaced: number[] = (await getStatus(status)).server.workers.map((w: {pid: number}) => w.pid)
    assert.equal(replaced.length, 2)
    assert.ok(!replaced.includes(pids[0]) && replaced.includes(pids[1]), `workers now ${replaced}`)
    assert.deepEqual(await statuses(`${proxy}/two`, 10), Array(10).fill(200), 'the new worker got the current config before serving')

    assert.equal(await node.stop('SIGTERM'), 0)
    assert.ok(replaced.every((pid) => !alive(pid)), 'no worker outlives the primary')
  })

  test('an invalid value stops the start naming the key', async () => {
    const node = spawnNode(dir, {database: 'off', node_worker_processes: 'two'})
    assert.equal(await node.exited, 1)
    assert.match(node.output(), /Error: node_worker_processes must be 'auto' or a positive integer \(got 'two'\)/)
  })

  test('a data plane with 2 workers gets its configuration from the control plane', async () => {
    const db = await freshDatabase('workers_hybrid')
    const [adminPort, cpStatus, clusterPort, proxyPort, dpStatus] = await ports(5)
    const tls = {cluster_cert: certFile, cluster_cert_key: keyFile, cluster_ping_interval: 1}
    const cp = spawnNode(dir, {
      role: 'control_plane', pg_host: bed.pg.host, pg_port: bed.pg.port, pg_user: bed.pg.user, pg_password: bed.pg.password, pg_database: db,
      admin_listen: `127.0.0.1:${adminPort}`, status_listen: `127.0.0.1:${cpStatus}`, cluster_listen: `127.0.0.1:${clusterPort}`, ...tls,
    }, {status: `http://127.0.0.1:${cpStatus}`})
    await cp.waitReady()
    const dp = spawnNode(dir, {
      role: 'data_plane', database: 'off', cluster_control_plane: `127.0.0.1:${clusterPort}`,
      proxy_listen: `127.0.0.1:${proxyPort}`, status_listen: `127.0.0.1:${dpStatus}`, node_worker_processes: 2, ...tls,
    }, {status: `http://127.0.0.1:${dpStatus}`})
    await dp.waitReady()
    const admin = `http://127.0.0.1:${adminPort}`
    assert.equal((await send('POST', `${admin}/services`, {name: 'echo', url: bed.upstreamUrl})).status, 201)
    assert.equal((await send('POST', `${admin}/services/echo/routes`, {name: 'r1', paths: ['/dp']})).status, 201)
    // The DP takes a hash as its own only once both workers serve that config: once one
    // worker serves the route and the DP's hash is the CP's, both serve it.
    const synced = async () =>
      (await fresh(`http://127.0.0.1:${proxyPort}/dp`)) === 200 &&
      (await getStatus(`http://127.0.0.1:${dpStatus}`)).configuration_hash === (await getStatus(`http://127.0.0.1:${cpStatus}`)).configuration_hash
    await until('the DP serves the route and reports the CP\'s hash', synced)
    assert.deepEqual(await statuses(`http://127.0.0.1:${proxyPort}/dp`, 10), Array(10).fill(200))
    const dpState = await getStatus(`http://127.0.0.1:${dpStatus}`)
    assert.equal(dpState.server.workers.length, 2)
    for (const w of dpState.server.workers) assert.ok(w.total_requests > 0, `worker ${w.pid} served`)
    assert.equal(await dp.stop('SIGTERM'), 0)
    assert.equal(await cp.stop('SIGTERM'), 0)
  })
})
