/**
 * End to end: the user story of `kctl init` in embedded mode, run through the real CLI
 * against a real Postgres, a real gateway node and a real upstream.
 */
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {createServer, type Server} from 'node:http'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import pg from 'pg'
import {parse} from 'yaml'
import {isAlive} from '../../src/kit/process.js'
import {startUpstream} from '../helpers/http.js'
import {createSandbox, moveToSandboxPorts, processesMentioning, ROOT, withPortTaken, type Sandbox} from '../helpers/kctl.js'
import {startTestPostgres, type TestPostgres} from '../helpers/postgres.js'
import {until} from '../helpers/until.js'

interface NodesJson {
  cluster: string
  mode: string
  nodes: {name: string; role: string; host: string; pid: number | null; state: string; listen: Record<string, string>; kctl_version: string | null}[]
}

const form = (body: Record<string, string>) => ({method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'}, body: new URLSearchParams(body).toString()})

describe('kctl end to end (embedded)', () => {
  let sb: Sandbox
  let upstream: {server: Server; port: number}
  const admin = () => `http://127.0.0.1:${sb.ports.admin}`
  const proxy = () => `http://127.0.0.1:${sb.ports.proxy}`
  const nodesJson = async (): Promise<NodesJson> => {
    const r = await sb.kctl('nodes', '--json')
    assert.equal(r.code, 0, r.stderr)
    return JSON.parse(r.stdout)
  }

  before(async () => {
    sb = await createSandbox()
    upstream = await startUpstream()
    await sb.writeSpec()
  })
  after(async () => {
    await sb?.cleanup()
    upstream?.server.close()
  })

  it('init brings Postgres and a node up and prints the endpoints', async () => {
    const r = await sb.kctl('init')
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    assert.match(r.stdout, new RegExp(`Proxy: +http://127.0.0.1:${sb.ports.proxy}`))
    assert.match(r.stdout, new RegExp(`Admin API: +http://127.0.0.1:${sb.ports.admin}`))
    assert.match(r.stderr, /Migrations/)
  })

  it('proxies through a service and route created with the Admin API', async () => {
    const s = await fetch(`${admin()}/services`, form({name: 'echo', url: `http://127.0.0.1:${upstream.port}`}))
    assert.equal(s.status, 201, await s.clone().text())
    const rt = await fetch(`${admin()}/services/echo/routes`, form({name: 'r1', 'paths[]': '/echo'}))
    assert.equal(rt.status, 201, await rt.clone().text())
    const res = await fetch(`${proxy()}/echo/hello`)
    assert.equal(res.status, 200)
    assert.deepEqual((await res.json()).path, '/hello')
  })

  it('nodes --json has the pinned shape', async () => {
    const j = await nodesJson()
    assert.deepEqual(Object.keys(j).sort(), ['cluster', 'mode', 'nodes'])
    assert.equal(j.cluster, 'e2e')
    assert.equal(j.mode, 'embedded')
    assert.deepEqual(j.nodes.map((n) => [n.name, n.role, n.state]), [['postgres', 'database', 'running'], ['node-1', 'traditional', 'running']])
    for (const n of j.nodes) {
      assert.deepEqual(Object.keys(n).sort(), ['host', 'kctl_version', 'listen', 'name', 'pid', 'role', 'state'])
      assert.ok(Number.isInteger(n.pid) && isAlive(n.pid!), `${n.name} pid`)
      for (const k of Object.keys(n.listen)) assert.ok(['proxy', 'admin', 'cluster', 'status', 'postgres'].includes(k), k)
    }
    const state = JSON.parse(await readFile(join(sb.dataDir, 'clusters', 'e2e', 'state.json'), 'utf8'))
    assert.deepEqual(j.nodes[0].listen, {postgres: `127.0.0.1:${state.connection.port}`}, 'where the embedded database listens')
    const text = await sb.kctl('nodes')
    assert.match(text.stdout, new RegExp(`^postgres +database +localhost +\\d+ +running +- +postgres 127\\.0\\.0\\.1:${state.connection.port}$`, 'm'))
    const version = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).version
    assert.deepEqual(j.nodes.map((n) => n.kctl_version), [null, version], 'the node runs the runtime of the kctl that started it')
    assert.deepEqual(j.nodes[1].listen, {
      proxy: `127.0.0.1:${sb.ports.proxy}, 127.0.0.1:${sb.ports.proxySsl} ssl`,
      admin: `127.0.0.1:${sb.ports.admin}`,
      status: `127.0.0.1:${sb.ports.status}`,
    })
  })

  it('init again says it is running and changes nothing', async () => {
    const before = await nodesJson()
    const spec = await readFile(join(sb.cwd, 'kctl.yaml'), 'utf8')
    const r = await sb.kctl('init')
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /already running; nothing changed/)
    assert.deepEqual(await nodesJson(), before)
    assert.equal(await readFile(join(sb.cwd, 'kctl.yaml'), 'utf8'), spec)
  })

  it('stop then start: every process goes and comes back, the configuration survives', async () => {
    const old = (await nodesJson()).nodes.map((n) => n.pid!)
    const stop = await sb.kctl('stop')
    assert.equal(stop.code, 0, stop.stderr)
    for (const pid of old) assert.equal(isAlive(pid), false, `pid ${pid} still alive`)
    assert.deepEqual((await nodesJson()).nodes.map((n) => [n.state, n.pid]), [['stopped', null], ['stopped', null]])
    const start = await sb.kctl('start')
    assert.equal(start.code, 0, start.stderr)
    assert.deepEqual((await nodesJson()).nodes.map((n) => n.state), ['running', 'running'])
    const res = await fetch(`${proxy()}/echo/again`)
    assert.equal(res.status, 200)
    assert.equal((await res.json()).path, '/again')
  })

  it('restart NODE restarts only that node, with a new pid and the same configuration', async () => {
    const before = await nodesJson()
    const spec = await readFile(join(sb.cwd, 'kctl.yaml'), 'utf8')
    const r = await sb.kctl('restart', 'node-1')
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /Restarted: .*node-1/)
    const now = await nodesJson()
    const [oldDb, oldNode] = before.nodes
    const [db, node] = now.nodes
    assert.equal(node.state, 'running')
    assert.notEqual(node.pid, oldNode.pid, 'a new process')
    assert.equal(isAlive(oldNode.pid!), false, `old pid ${oldNode.pid} still alive`)
    assert.deepEqual(node.listen, oldNode.listen)
    assert.deepEqual([db.pid, db.state], [oldDb.pid, 'running'], 'the database is left alone')
    assert.equal(await readFile(join(sb.cwd, 'kctl.yaml'), 'utf8'), spec)
    const res = await fetch(`${proxy()}/echo/after-restart`)
    assert.equal(res.status, 200)
    assert.equal((await res.json()).path, '/after-restart')
    const route = await fetch(`${admin()}/routes/r1`)
    assert.deepEqual((await route.json()).paths, ['/echo'])
  })

  it('logs shows what the node logged, -n the last lines of it', async () => {
    const nodeId = (await (await fetch(`${admin()}/`)).json()).node_id
    const all = await sb.kctl('logs', 'node-1', '-n', '0')
    assert.equal(all.code, 0, all.stderr)
    const lines = all.stdout.trimEnd().split('\n')
    // Started by init, start and restart; stopped by stop, and retired by restart once the
    // new process tree took its sockets over.
    assert.equal(lines.filter((l) => l.includes(`node ${nodeId} started (role traditional, database postgres)`)).length, 3, all.stdout)
    assert.equal(lines.filter((l) => l.includes('received SIGTERM, draining and stopping')).length, 1, all.stdout)
    assert.equal(lines.filter((l) => l.includes('a newer serving process took over, draining and stopping')).length, 1, all.stdout)
    const tail = await sb.kctl('logs', 'node-1', '-n', '2')
    assert.equal(tail.code, 0, tail.stderr)
    assert.deepEqual(tail.stdout.trimEnd().split('\n'), lines.slice(-2))
  })

  it('destroy without --yes and without a TTY refuses, naming the flag', async () => {
    const r = await sb.kctl('destroy')
    assert.equal(r.code, 1)
    assert.match(r.stderr, /--yes/)
    assert.deepEqual((await nodesJson()).nodes.map((n) => n.state), ['running', 'running'])
  })

  it('destroy --yes leaves no process and no state', async () => {
    const pids = (await nodesJson()).nodes.map((n) => n.pid!)
    const r = await sb.kctl('destroy', '--yes')
    assert.equal(r.code, 0, r.stderr)
    for (const pid of pids) assert.equal(isAlive(pid), false, `pid ${pid} still alive`)
    assert.deepEqual(await processesMentioning(sb.dir), [])
    assert.equal(existsSync(join(sb.dataDir, 'clusters', 'e2e')), false)
    const n = await sb.kctl('nodes', '--json')
    assert.equal(n.code, 1)
  })
})

describe('kctl init failures', () => {
  let sb: Sandbox
  before(async () => {
    sb = await createSandbox()
  })
  after(async () => {
    await sb?.cleanup()
  })

  it('fails clearly when the proxy port is taken and leaves nothing running', async () => {
    await sb.writeSpec()
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(sb.ports.proxy, '127.0.0.1', resolve))
    try {
      const r = await sb.kctl('init')
      assert.equal(r.code, 1)
      assert.match(r.stderr, new RegExp(`Port ${sb.ports.proxy} is already in use`))
      assert.match(r.stderr, /spec\.nodes\[0\]\.proxy_listen/)
      assert.deepEqual(await processesMentioning(sb.dir), [])
      assert.equal(existsSync(join(sb.dataDir, 'clusters', 'e2e')), false)
    } finally {
      blocker.close()
    }
  })

  it('a flag of another mode is refused, naming it, and writes nothing', async () => {
    const r = await sb.kctl('init', '--mode', 'hybrid', '--nodes', '3', '--spec', 'other.yaml')
    assert.equal(r.code, 2)
    assert.match(r.stderr, /--nodes applies to --mode distributed only/)
    assert.equal(existsSync(join(sb.cwd, 'other.yaml')), false)
  })

  it('an unknown flag is a usage error (exit 2)', async () => {
    const r = await sb.kctl('nodes', '--nope')
    assert.equal(r.code, 2)
  })
})

describe('kctl init with no spec, no flags and no TTY', () => {
  let sb: Sandbox
  before(async () => {
    sb = await createSandbox()
  })
  after(async () => {
    await sb?.cleanup()
  })

  it('--dry-run plans an embedded cluster named demo and writes nothing', async () => {
    const r = await sb.kctl('init', '--dry-run', '--json')
    assert.equal(r.code, 0, r.stderr)
    const plan = JSON.parse(r.stdout)
    assert.equal(plan.cluster, 'demo')
    assert.equal(plan.mode, 'embedded')
    assert.equal(plan.spec_created, true)
    assert.match(plan.database, /^embedded postgres:\/\/kong@127\.0\.0\.1:\d+\/kong$/)
    assert.deepEqual(plan.endpoints, {proxy: 'http://127.0.0.1:8000', admin: 'http://127.0.0.1:8001', status: 'http://127.0.0.1:8007'})
    assert.deepEqual(plan.plan.map((p: {title: string}) => p.title)[0], 'Preflight: ports and runtime')
    assert.ok(plan.plan.some((p: {actions: string[]}) => p.actions.some((a) => /start the embedded Postgres/.test(a))), r.stdout)
    assert.equal(existsSync(join(sb.cwd, 'kctl.yaml')), false, 'a dry run writes no spec')
    assert.equal(existsSync(join(sb.dataDir, 'clusters')), false, 'nor any state')
  })

  // The template's ports are Kong's defaults, which this machine's other tests may hold, so
  // the run is made to stop at preflight on port 8000: it has rendered kctl.yaml by then.
  it('renders kctl.yaml from the embedded template with the name demo, without asking', async () => {
    const r = await withPortTaken(8000, () => sb.kctl('init'))
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`)
    assert.match(r.stderr, /Port 8000 is already in use: 0\.0\.0\.0:8000 is proxy_listen of node node-1 \(spec\.nodes\[0\]\.proxy_listen in kctl\.yaml\)/)
    const text = await readFile(join(sb.cwd, 'kctl.yaml'), 'utf8')
    const template = await readFile(join(ROOT, 'templates', 'embedded.yaml'), 'utf8')
    const node = ['    - name: node-1', '      role: traditional', '      proxy_listen: 0.0.0.0:8000, 0.0.0.0:8443 ssl', '      admin_listen: 127.0.0.1:8001', '      status_listen: 127.0.0.1:8007'].join('\n')
    assert.equal(text, template.replace('{{name}}', 'demo').replace('{{database}}', '{embedded: true}').replace('{{nodes}}', node))
    const spec = parse(text)
    assert.equal(spec.metadata.name, 'demo')
    assert.equal(spec.spec.mode, 'embedded')
    assert.deepEqual(spec.spec.database, {embedded: true})
    assert.deepEqual(await processesMentioning(sb.dir), [], 'nothing left running')
    assert.equal(existsSync(join(sb.dataDir, 'clusters', 'demo')), false, 'no state left behind')
  })
})

describe('kctl init --database postgres://… (an existing server)', () => {
  let sb: Sandbox
  let db: TestPostgres
  let upstream: {server: Server; port: number}
  before(async () => {
    db = await startTestPostgres('kctl_external')
    sb = await createSandbox()
    upstream = await startUpstream()
  })
  after(async () => {
    await sb?.cleanup()
    upstream?.server.close()
    await db?.stop()
  })
  const rows = async (sql: string) => {
    const client = new pg.Client({connectionString: db.url})
    await client.connect()
    try {
      return (await client.query(sql)).rows
    } finally {
      await client.end()
    }
  }

  it('writes the URL into the spec, then brings the node up on that server with no embedded Postgres', async () => {
    const first = await withPortTaken(8000, () => sb.kctl('init', '--database', db.url))
    assert.equal(first.code, 1, `${first.stdout}\n${first.stderr}`)
    assert.deepEqual(parse(await readFile(join(sb.cwd, 'kctl.yaml'), 'utf8')).spec.database, {url: db.url})
    await moveToSandboxPorts(sb)

    const r = await sb.kctl('init')
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    assert.match(r.stdout, new RegExp(`Database: +postgres://kong@127\\.0\\.0\\.1:${db.port}/kctl_external`))
    assert.match(r.stdout, /Cluster demo is up \(embedded\)/, 'the mode is still embedded: one traditional node')
    const nodes = await sb.kctl('nodes', '--json')
    assert.equal(nodes.code, 0, nodes.stderr)
    const j = JSON.parse(nodes.stdout)
    assert.equal(j.cluster, 'demo')
    assert.deepEqual(j.nodes.map((n: any) => [n.name, n.role, n.state]), [['database', 'database', 'external'], ['node-1', 'traditional', 'running']])
    assert.deepEqual(j.nodes[0], {name: 'database', role: 'database', host: '127.0.0.1', pid: null, state: 'external', listen: {postgres: `127.0.0.1:${db.port}`}, kctl_version: null}, 'where the database listens, from the URL')
    const password = new URL(db.url).password
    const text = await sb.kctl('nodes')
    assert.match(text.stdout, new RegExp(`^database +database +127\\.0\\.0\\.1 +- +external +- +postgres 127\\.0\\.0\\.1:${db.port}$`, 'm'))
    if (password) assert.ok(!nodes.stdout.includes(password) && !text.stdout.includes(password), 'the password is never shown')
    // the node: its supervisor (the pid kctl records), the serving process it runs and, once
    // it stands by, the warm spare (a process forked in between is a spare not yet standing by)
    const record = () => readFile(join(sb.dataDir, 'clusters', 'demo', 'nodes', 'node-1', 'supervisor.json'), 'utf8').then((t) => JSON.parse(t))
    const {serving_pid: serving, spare_pid: spare} = await until('the warm spare standing by', async () => ((await record()).spare_pid ? record() : undefined))
    assert.deepEqual((await processesMentioning(sb.dir)).sort(), [j.nodes[1].pid, serving, spare].sort(), 'the node is the only process of the sandbox')
    assert.equal(existsSync(join(sb.dataDir, 'clusters', 'demo', 'postgres', 'data')), false, 'no embedded data directory')
  })

  it('keeps its configuration in that server', async () => {
    const admin = `http://127.0.0.1:${sb.ports.admin}`
    const s = await fetch(`${admin}/services`, form({name: 'echo', url: `http://127.0.0.1:${upstream.port}`}))
    assert.equal(s.status, 201, await s.clone().text())
    const rt = await fetch(`${admin}/services/echo/routes`, form({name: 'r1', 'paths[]': '/echo'}))
    assert.equal(rt.status, 201, await rt.clone().text())
    const res = await fetch(`http://127.0.0.1:${sb.ports.proxy}/echo/ext`)
    assert.equal(res.status, 200)
    assert.equal((await res.json()).path, '/ext')
    assert.deepEqual(await rows('SELECT name, port::int AS port FROM services'), [{name: 'echo', port: upstream.port}])
  })

  it('destroy stops the node and leaves the server and its data alone', async () => {
    const r = await sb.kctl('destroy', '--yes')
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(await processesMentioning(sb.dir), [])
    assert.deepEqual(await rows('SELECT name FROM routes'), [{name: 'r1'}])
  })
})
