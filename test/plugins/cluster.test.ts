/**
 * rate-limiting's cluster policy against a real Postgres: counters in Kong's
 * `ratelimiting_metrics` table, enforced on one node, shared by two traditional nodes
 * (real processes, one of them with two proxy workers) on the same database, passed
 * windows not counted, and a store failure handled as Kong does.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import {createServer, request, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import type {Pool} from 'pg'
import {findFreePort} from '../../src/kit/ports.js'
import {createPool} from '../../src/runtime/db/pool.js'
import {createLogger} from '../../src/runtime/log.js'
import {windowOf} from '../../src/runtime/plugins/rate-limiting/counters.js'
import {EMPTY_UUID} from '../../src/runtime/plugins/rate-limiting/cluster-policy.js'
import {route, service} from '../router/fixtures.js'
import {deadPort, get, startProxy, startUpstream} from '../proxy/helpers.js'
import {killAll, spawnNode} from '../helpers/node-process.js'
import {startTestPostgres, type TestPostgres} from '../helpers/postgres.js'
import {plugin} from './fixtures.js'

const dir = mkdtempSync(join(tmpdir(), 'kctl-rl-cluster-'))
let pg: TestPostgres
let databases = 0

/** A pool on a freshly migrated database of its own, ended after the test. */
async function freshPool(t: any): Promise<Pool> {
  const db = createPool({host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: await freshDatabase()})
  t.after(() => db.end())
  return db
}

/** A freshly migrated database of its own; returns its name. */
async function freshDatabase(): Promise<string> {
  return (await pg.migratedDatabase(`rl_cluster_${process.pid}_${++databases}`)).database
}

before(async () => {
  pg = await startTestPostgres()
})
after(async () => {
  killAll()
  await pg?.stop()
  rmSync(dir, {recursive: true, force: true})
})

const rows = async (db: Pool) =>
  (await db.query(`SELECT identifier, period, extract(epoch FROM period_date) * 1000 AS start, service_id, route_id, value, ttl > now() AS live FROM ratelimiting_metrics ORDER BY period, period_date`)).rows

/** Counting does not hold the request (as Kong): wait until the hour counters sum to `n`. */
async function waitForCount(db: Pool, n: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await db.query(`SELECT coalesce(sum(value), 0)::int AS n FROM ratelimiting_metrics WHERE period = 'hour'`)
    if (r.rows[0].n === n) return
    await new Promise((res) => setTimeout(res, 20))
  }
  throw new Error(`the hour counters did not sum to ${n}`)
}

async function oneNode(t: any, conf: Record<string, unknown>, database?: Pool, log = createLogger({level: 'crit'}), scope: 'global' | 'service' = 'global') {
  const up = await startUpstream(t, 'a')
  const s = service({url: `http://127.0.0.1:${up.port}`})
  const r = route({paths: ['/'], service: {id: s.id}})
  const p = plugin('rate-limiting', conf, scope === 'service' ? {service: s.id} : {})
  const {port} = await startProxy(t, {services: [s], routes: [r], plugins: [p]} as any, {database, log})
  return {port, up, route: r, service: s}
}

describe('plugins: rate-limiting (cluster)', () => {
  test("enforced on one node with Kong's headers; counters in ratelimiting_metrics", async (t) => {
    const pool = await freshPool(t)
    const {port, up, service: s} = await oneNode(t, {hour: 3, day: 10, policy: 'cluster', limit_by: 'ip'}, pool, undefined, 'service')
    for (let i = 0; i < 3; i++) {
      const res = await get(port, '/')
      assert.equal(res.status, 200)
      assert.equal(res.headers['x-ratelimit-limit-hour'], '3')
      assert.equal(res.headers['x-ratelimit-remaining-hour'], String(2 - i))
      assert.equal(res.headers['x-ratelimit-limit-day'], '10')
      assert.equal(res.headers['x-ratelimit-remaining-day'], String(9 - i))
      assert.equal(res.headers['ratelimit-limit'], '3')
      assert.equal(res.headers['ratelimit-remaining'], String(2 - i))
      assert.match(String(res.headers['ratelimit-reset']), /^\d+$/)
      await waitForCount(pool, i + 1)
    }
    const over = await get(port, '/')
    assert.equal(over.status, 429)
    assert.equal(over.json().message, 'API rate limit exceeded')
    assert.equal(over.headers['x-ratelimit-remaining-hour'], '0')
    assert.match(String(over.headers['retry-after']), /^\d+$/)
    assert.equal(up.hits(), 3)

    const now = Date.now()
    const stored = await rows(pool)
    // Kong's row: the instance's scope (a service here; no route: the empty uuid).
    assert.deepEqual(stored.map((x) => [x.period, Number(x.start), x.service_id, x.route_id, x.value, x.live]), [
      ['day', windowOf('day', now)[0], s.id, EMPTY_UUID, 3, true],
      ['hour', windowOf('hour', now)[0], s.id, EMPTY_UUID, 3, true],
    ])
    assert.match(stored[0].identifier, /^(::ffff:)?127\.0\.0\.1$/)
  })

  test('a window that has passed is not counted; expired rows are deleted', async (t) => {
    const db = await freshPool(t)
    const {port} = await oneNode(t, {hour: 2, policy: 'cluster', limit_by: 'header', header_name: 'x-tenant'}, db)
    const [thisHour] = windowOf('hour', Date.now())
    const insert = `INSERT INTO ratelimiting_metrics (identifier, period, period_date, service_id, route_id, value, ttl) VALUES ($1, 'hour', to_timestamp($2), $3, $4, $5, now() + make_interval(secs => $6))`
    // The previous hour is full (still alive, as a row is for a while after its window)...
    await db.query(insert, ['t1', (thisHour - 3_600_000) / 1000, EMPTY_UUID, EMPTY_UUID, 1000, 3600])
    // ...and an old row's ttl has passed.
    await db.query(insert, ['old', (thisHour - 7_200_000) / 1000, EMPTY_UUID, EMPTY_UUID, 5, -10])
    const res = await get(port, '/', {headers: {'x-tenant': 't1'}})
    assert.equal(res.status, 200)
    assert.equal(res.headers['x-ratelimit-remaining-hour'], '1')
    // 1000 + this request, the expired row gone.
    await waitForCount(db, 1001)
    const left = (await rows(db)).map((x) => [x.identifier, Number(x.start), x.value])
    assert.deepEqual(left, [
      ['t1', thisHour - 3_600_000, 1000],
      ['t1', thisHour, 1],
    ])
  })

  test('Postgres failing: fault_tolerant proxies unlimited and logs; without it the client gets a 500', async (t) => {
    const down = createPool({host: '127.0.0.1', port: await deadPort(), user: 'kong', database: 'nope', timeout: 500})
    t.after(() => down.end())
    const lines: string[] = []
    const log = createLogger({level: 'error', write: (l) => lines.push(l)})
    const tolerant = await oneNode(t, {minute: 1, policy: 'cluster'}, down, log)
    for (let i = 0; i < 2; i++) {
      const res = await get(tolerant.port, '/')
      assert.equal(res.status, 200)
      assert.equal(res.headers['x-ratelimit-limit-minute'], undefined)
    }
    assert.ok(lines.some((l) => /\[error\] rate-limiting: failed to get usage from cluster: .*request not limited \(fault_tolerant\)/.test(l)), lines.join('\n'))
    const strict = await oneNode(t, {minute: 1, policy: 'cluster', fault_tolerant: false}, down)
    const res = await get(strict.port, '/')
    assert.equal(res.status, 500)
    assert.equal(res.json().message, 'An unexpected error occurred')
    assert.equal(strict.up.hits(), 0)
  })

  test('a node without a database (DB-less, data plane) has no store for cluster', async (t) => {
    const lines: string[] = []
    const {port, up} = await oneNode(t, {minute: 1, policy: 'cluster', fault_tolerant: false}, undefined, createLogger({level: 'error', write: (l) => lines.push(l)}))
    assert.equal((await get(port, '/')).status, 500)
    assert.equal(up.hits(), 0)
    assert.ok(lines.some((l) => l.includes("this node has no database (DB-less or data plane) to keep 'cluster' counters in; use policy 'local' or 'redis'")), lines.join('\n'))
  })

  test('two traditional nodes on one Postgres (one with two workers) share the counters', async () => {
    const database = await freshDatabase()
    const db = createPool({host: pg.host, port: pg.port, user: pg.user, password: pg.password, database})
    const upstream: Server = createServer((req, res) => res.end('ok'))
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
    let hits = 0
    upstream.on('request', () => hits++)
    try {
      const start = async (workers: number) => {
        const [proxy, admin, status] = [await findFreePort(), await findFreePort(), await findFreePort()]
        const urls = {proxy: `http://127.0.0.1:${proxy}`, admin: `http://127.0.0.1:${admin}`, status: `http://127.0.0.1:${status}`}
        const node = spawnNode(dir, {
          pg_host: pg.host, pg_port: pg.port, pg_user: pg.user, pg_password: pg.password, pg_database: database,
          proxy_listen: `127.0.0.1:${proxy}`, admin_listen: `127.0.0.1:${admin}`, status_listen: `127.0.0.1:${status}`,
          node_worker_processes: workers,
        }, {status: urls.status})
        return {node, ...urls}
      }
      const [a, b] = [await start(2), await start(1)]
      await Promise.all([a.node.waitReady(), b.node.waitReady()])
      const send = async (method: string, url: string, body: unknown) => {
        const res = await fetch(url, {method, headers: {'content-type': 'application/json'}, body: JSON.stringify(body)})
        return {status: res.status, body: await res.json()}
      }
      assert.equal((await send('POST', `${a.admin}/services`, {name: 'rl', url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`})).status, 201)
      const r = await send('POST', `${a.admin}/services/rl/routes`, {name: 'rl', paths: ['/rl']})
      assert.equal(r.status, 201)
      assert.equal((await send('POST', `${a.admin}/routes/rl/plugins`, {name: 'rate-limiting', config: {hour: 4, policy: 'cluster', limit_by: 'ip'}})).status, 201)
      // Node a's write returns once its workers serve it; node b learns it through NOTIFY:
      // once b serves a route made after the plugin, it has the plugin too.
      assert.equal((await send('POST', `${a.admin}/services/rl/routes`, {name: 'probe', paths: ['/probe']})).status, 201)
      for (let i = 0; (await fresh(`${b.proxy}/probe`)).status !== 200; i++) {
        if (i > 300) throw new Error('node b did not load the configuration')
        await new Promise((res) => setTimeout(res, 20))
      }
      hits = 0

      const order = [a, a, b, a, b, a]
      const seen: Array<[number, string | undefined]> = []
      for (const [i, n] of order.entries()) {
        const res = await fresh(`${n.proxy}/rl`)
        seen.push([res.status, res.headers['x-ratelimit-remaining-hour'] as string | undefined])
        if (res.status === 429) assert.equal(JSON.parse(res.body).message, 'API rate limit exceeded')
        if (i < 4) await waitForCount(db, i + 1)
      }
      assert.deepEqual(seen, [[200, '3'], [200, '2'], [200, '1'], [200, '0'], [429, '0'], [429, '0']])
      assert.equal(hits, 4)
      const stored = await rows(db)
      assert.deepEqual(stored.map((x) => [x.period, x.route_id, x.service_id, x.value]), [['hour', r.body.id, EMPTY_UUID, 4]])
      const workers: Array<{total_requests: number}> = (await (await fetch(`${a.status}/status`)).json()).server.workers
      assert.equal(workers.length, 2)
      for (const w of workers) assert.ok(w.total_requests >= 1, 'both workers of node a served requests')
      assert.equal((await a.node.stop()), 0)
      assert.equal((await b.node.stop()), 0)
    } finally {
      upstream.close()
      await db.end()
    }
  })
})

/** GET on a connection of its own, so a node's primary hands each one to its next worker. */
function fresh(url: string): Promise<{status: number; headers: Record<string, string | string[] | undefined>; body: string}> {
  return new Promise((resolve, reject) => {
    const req = request(url, {agent: false, headers: {connection: 'close'}}, (res) => {
      let body = ''
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, body}))
    })
    req.on('error', reject)
    req.end()
  })
}
