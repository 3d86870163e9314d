/**
 * End to end: `kctl init` when a process it starts dies during the start, through the real
 * CLI, a real embedded Postgres and a real gateway node. The spec passes kctl's own checks;
 * the failure comes from the process itself. Each case stops init with exit 1, a message
 * naming the cause with the tail of that process's log, nothing of the sandbox left
 * running, and nothing left of a cluster that never came up but its spec.
 */
import assert from 'node:assert/strict'
import {existsSync, readFileSync} from 'node:fs'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import pg from 'pg'
import {after, afterEach, before, beforeEach, describe, it} from 'node:test'
import {isPortFree} from '../../src/kit/ports.js'
import {isAlive} from '../../src/kit/process.js'
import {createSandbox, processesMentioning, type Sandbox} from '../helpers/kctl.js'
import {until} from '../helpers/until.js'

/** Rewrites the sandbox's kctl.yaml (see Sandbox.writeSpec) with `edit`. */
async function editSpec(sb: Sandbox, edit: (text: string) => string): Promise<void> {
  const file = join(sb.cwd, 'kctl.yaml')
  const text = await readFile(file, 'utf8')
  const edited = edit(text)
  assert.notEqual(edited, text, 'the spec edit applied')
  await writeFile(file, edited)
}

/** What a failed first `init` must leave: no process, no cluster state, the spec. */
async function assertNothingLeft(sb: Sandbox): Promise<void> {
  assert.deepEqual(await processesMentioning(sb.dir), [], 'nothing of the sandbox left running')
  assert.equal(existsSync(join(sb.dataDir, 'clusters', 'e2e')), false, 'no cluster state left behind')
  assert.equal(existsSync(join(sb.cwd, 'kctl.yaml')), true, 'the spec stays, to be fixed')
}

describe('kctl init when a process dies during the start', () => {
  let sb: Sandbox
  beforeEach(async () => {
    sb = await createSandbox()
    await sb.writeSpec()
  })
  afterEach(async () => {
    await sb?.cleanup()
  })

  // kctl checks that a conf value has the key's type (node_worker_processes is text: auto
  // or a count); the runtime refuses 0 at start, as Kong refuses it.
  it('a node that exits at start: names the node and shows the runtime error from its log; Postgres is stopped again', async () => {
    await editSpec(sb, (t) => `${t}      conf: {node_worker_processes: 0}\n`)
    const r = await sb.kctl('init')
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`)
    assert.match(r.stderr, /starting Postgres on 127\.0\.0\.1:\d+/, 'the database was started first')
    assert.match(r.stderr, /Node node-1 exited during start: node_worker_processes must be 'auto' or a positive integer \(got '0'\)/)
    assert.match(r.stderr, /\/nodes\/node-1\/logs\/node\.log \(tail\) ---\nError: node_worker_processes must be 'auto' or a positive integer \(got '0'\)\n/, 'the tail of the node log')
    await assertNothingLeft(sb)
  })
})

// As root, kctl runs Postgres as an unprivileged user (postgres-user.ts). Preflight, run by
// root, can bind a port below ip_unprivileged_port_start, so it passes; Postgres cannot.
const unprivilegedFrom = (() => {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'))
  } catch {
    return 1024
  }
})()
const postgresCannotBindLowPorts = process.getuid?.() === 0 && unprivilegedFrom > 900

describe('kctl init when the embedded Postgres does not start', {skip: !postgresCannotBindLowPorts && 'needs root (Postgres then runs unprivileged) and privileged ports below 900'}, () => {
  let sb: Sandbox
  let port: number
  before(async () => {
    sb = await createSandbox()
    await sb.writeSpec()
    const candidates = Array.from({length: 100}, (_, i) => 900 - i)
    const free = []
    for (const p of candidates) if (await isPortFree('127.0.0.1', p)) free.push(p)
    assert.ok(free.length, 'a free privileged port')
    port = free[Math.floor(Math.random() * free.length)]
  })
  after(async () => {
    await sb?.cleanup()
  })

  it('a database port Postgres may not bind: the port, the spec key and the Postgres log say why; no node is started', async () => {
    await editSpec(sb, (t) => t.replace('database: {embedded: true}', `database: {embedded: true, port: ${port}}`))
    const r = await sb.kctl('init')
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`)
    assert.match(r.stderr, new RegExp(`Postgres did not start on 127\\.0\\.0\\.1:${port}: the server process exited`))
    assert.match(r.stderr, /postgres\.log \(tail\) ---\n/)
    assert.match(r.stderr, /could not bind IPv4 address "127\.0\.0\.1": Permission denied/, 'the cause, from the Postgres log')
    assert.match(r.stderr, new RegExp(`Next: .*If it cannot use port ${port}, set spec\\.database\\.port in kctl\\.yaml to a free port \\(from 1024 up`))
    assert.doesNotMatch(r.stderr, /node-1 started/)
    await assertNothingLeft(sb)
  })
})

// A node outlives its database restarting: the connection it LISTENs on for changes is
// opened again (it had no error handler, and a Postgres restart took the node down), and
// notifications reach it afterwards.
describe('a running node while its database restarts', () => {
  let sb: Sandbox
  before(async () => {
    sb = await createSandbox()
    await sb.writeSpec()
  })
  after(async () => {
    await sb?.cleanup()
  })

  it('keeps running, listens again, and reloads on the next notification', async () => {
    const init = await sb.kctl('init')
    assert.equal(init.code, 0, `${init.stdout}\n${init.stderr}`)
    const nodes = async () => {
      const r = await sb.kctl('nodes', '--json')
      assert.equal(r.code, 0, r.stderr)
      return JSON.parse(r.stdout).nodes as {name: string; pid: number | null; state: string}[]
    }
    const pid = (await nodes()).find((n) => n.name === 'node-1')!.pid!
    const restart = await sb.kctl('restart', 'postgres')
    assert.equal(restart.code, 0, restart.stderr)
    const log = () => readFileSync(join(sb.dataDir, 'clusters', 'e2e', 'nodes', 'node-1', 'logs', 'node.log'), 'utf8')
    await until('the node to listen for configuration changes again', () => log(), {ok: (l) => /listening for configuration changes again/.test(l)})
    assert.match(log(), /lost the database connection that listens for configuration changes/)
    assert.match(log(), /listening for configuration changes again; reloading the configuration/)
    assert.doesNotMatch(log(), /crashed/)
    assert.equal(isAlive(pid), true, 'the node is still running')
    assert.deepEqual((await nodes()).map((n) => [n.name, n.state]), [['postgres', 'running'], ['node-1', 'running']])

    // A notification from another connection (as another node's write sends) reloads it.
    const version = async () => (await (await fetch(`http://127.0.0.1:${sb.ports.status}/status`)).json()).configuration_version as number
    const before = await version()
    const {connection} = JSON.parse(readFileSync(join(sb.dataDir, 'clusters', 'e2e', 'state.json'), 'utf8'))
    const client = new pg.Client({...connection, ssl: undefined})
    await client.connect()
    try {
      await client.query(`SELECT pg_notify('kctl_config', 'services')`)
    } finally {
      await client.end()
    }
    await until('the notification to reload the configuration', version, {ok: (v) => v > before})
    // And the node's own writes work against the restarted database.
    const created = await fetch(`http://127.0.0.1:${sb.ports.admin}/services`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({name: 'after-restart', url: 'http://127.0.0.1:9'})})
    assert.equal(created.status, 201)
  })
})
