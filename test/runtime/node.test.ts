/**
 * A traditional node as a real process over a real Postgres: start, Admin API writes
 * live on the proxy at the next request, changes through another node arrive by
 * NOTIFY, start failures exit 1 naming the cause, SIGTERM exits 0.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import pgModule from 'pg'
import {createDatabase} from '../../src/cluster/postgres.js'
import {findFreePort} from '../../src/kit/ports.js'
import {freshDatabase as freshDb, killAll, pgValues, spawnNode, type NodeProcess} from '../helpers/nodes.js'
import {startTestPostgres, type TestPostgres} from '../helpers/postgres.js'
import {until} from '../helpers/until.js'

const dir = mkdtempSync(join(tmpdir(), 'kctl-node-'))
let pg: TestPostgres
let upstream: Server
let upstreamPort: number

interface NodeHandle {
  node: NodeProcess
  admin: string
  proxy: string
  status: string
}

/** A traditional node on `database` of the test server, on free ports (does not wait: some are meant to fail). */
async function startNode(database: string, extra: Record<string, string> = {}): Promise<NodeHandle> {
  const [proxyPort, adminPort, statusPort] = [await findFreePort(), await findFreePort(), await findFreePort()]
  const values = {
    ...pgValues(pg, database),
    proxy_listen: `127.0.0.1:${proxyPort}`,
    admin_listen: `127.0.0.1:${adminPort}`,
    status_listen: `127.0.0.1:${statusPort}`,
    ...extra,
  }
  const status = `http://127.0.0.1:${statusPort}`
  return {node: spawnNode(dir, values, {status}), admin: `http://127.0.0.1:${adminPort}`, proxy: `http://127.0.0.1:${proxyPort}`, status}
}

const post = (url: string, body: unknown) =>
  fetch(url, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(body)}).then(async (r) => ({status: r.status, body: await r.json()}))

const freshDatabase = (name: string): Promise<string> => freshDb(pg, name)

before(async () => {
  pg = await startTestPostgres()
  upstream = createServer((req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({path: req.url, host: req.headers.host}))
  })
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
  upstreamPort = (upstream.address() as AddressInfo).port
})

after(async () => {
  killAll()
  upstream?.close()
  await pg?.stop()
  rmSync(dir, {recursive: true, force: true})
})

describe('traditional node', () => {
  test('an Admin API write is live on the proxy at the next request; another node sees it via NOTIFY', async () => {
    const db = await freshDatabase('node_live')
    const a = await startNode(db)
    const b = await startNode(db)
    await Promise.all([a.node.waitReady(), b.node.waitReady()])
    const none = await fetch(`${a.proxy}/echo/hello`)
    assert.equal(none.status, 404)
    assert.equal((await none.json()).message, 'no Route matched with those values')

    assert.equal((await post(`${a.admin}/services`, {name: 'echo', url: `http://127.0.0.1:${upstreamPort}`})).status, 201)
    assert.equal((await post(`${a.admin}/services/echo/routes`, {name: 'r1', paths: ['/echo']})).status, 201)
    const res = await fetch(`${a.proxy}/echo/hello?x=1`)
    assert.equal(res.status, 200)
    assert.deepEqual(await res.json(), {path: '/hello?x=1', host: `127.0.0.1:${upstreamPort}`})

    await until('the change made on node A to reach node B', async () => (await fetch(`${b.proxy}/echo/hello`)).status, {ok: (s) => s === 200})

    const status = await (await fetch(`${a.status}/status`)).json()
    assert.equal(status.database.reachable, true)
    // The Admin API answers /status and /status/ready as the status listener does.
    assert.equal((await (await fetch(`${a.admin}/status`)).json()).database.reachable, true)
    const ready = await fetch(`${a.admin}/status/ready`)
    assert.deepEqual([ready.status, await ready.json()], [200, {message: 'ready'}])
    assert.equal((await fetch(`${a.admin}/status/other`)).status, 404)
    assert.equal(await a.node.stop('SIGTERM'), 0)
    assert.equal(await b.node.stop('SIGTERM'), 0)
  })

  test('a change notification naming a version the node has is not read again; one naming none, or a newer one, is', async () => {
    const db = await freshDatabase('node_notify_once')
    const a = await startNode(db)
    await a.node.waitReady()
    // configuration_version counts the times the node read its configuration (1: at start)
    const reads = async (): Promise<number> => (await (await fetch(`${a.status}/status`)).json()).configuration_version
    for (let i = 0; i < 3; i++) assert.equal((await post(`${a.admin}/services`, {name: `s${i}`, url: `http://127.0.0.1:${upstreamPort}`})).status, 201)
    const settle = async (): Promise<number> => {
      let last = await reads()
      for (;;) {
        await new Promise((r) => setTimeout(r, 300))
        const now = await reads()
        if (now === last) return now
        last = now
      }
    }
    const before = await settle()
    assert.ok(before >= 4, `read ${before} times for 3 writes`)
    const client = new pgModule.Client({host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: db})
    await client.connect()
    try {
      const version = Number((await client.query('SELECT max(version) AS v FROM clustering_sync_version')).rows[0].v)
      const notify = (payload: string) => client.query('SELECT pg_notify($1, $2)', ['kctl_config', payload])
      await notify(`services:${version}`)
      await notify(`services:${version - 1}`)
      assert.equal(await settle(), before, 'a version the node has was read again')
      await notify('sync')
      await until('a notification without a version to be read', reads, {ok: (n) => n === before + 1})
      await notify(`services:${version + 1}`)
      await until('a notification of a newer version to be read', reads, {ok: (n) => n === before + 2})
    } finally {
      await client.end()
    }
    assert.equal(await a.node.stop('SIGTERM'), 0)
  })

  test('a port in use stops the start with the address and the conf key', async () => {
    const db = await freshDatabase('node_port')
    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
    const port = (blocker.address() as AddressInfo).port
    try {
      const n = await startNode(db, {admin_listen: `127.0.0.1:${port}`})
      assert.equal(await n.node.exited, 1)
      assert.match(n.node.output(), new RegExp(`Error: could not listen on 127\\.0\\.0\\.1:${port} \\(admin_listen\\): address already in use`))
    } finally {
      blocker.close()
    }
  })

  test('a database without migrations is refused', async () => {
    const conn = {host: pg.host, port: pg.port, user: pg.user, password: pg.password}
    await createDatabase(conn, 'node_unmigrated')
    const n = await startNode('node_unmigrated')
    assert.equal(await n.node.exited, 1)
    assert.match(n.node.output(), /Error: Database needs bootstrapping/)
  })

  test('an unreachable database is named', async () => {
    const closed = await findFreePort()
    const n = await startNode('x', {pg_port: String(closed)})
    assert.equal(await n.node.exited, 1)
    assert.match(n.node.output(), new RegExp(`Error: can't connect to Postgres at 127\\.0\\.0\\.1:${closed} \\(connection refused\\)`))
  })
})
