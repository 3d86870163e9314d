/**
 * A reload (SIGHUP to a node's supervisor, as `kong reload`) with real processes: a new
 * serving process reads the configuration afresh and takes the same sockets, the old one
 * drains and exits, and a load of keep-alive and new connections sees no failure. A new
 * process that cannot start is stopped while the old one keeps serving.
 */
import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {isAlive} from '../../src/kit/process.js'
import {findFreePort} from '../../src/kit/ports.js'
import {failures, startLoad} from '../helpers/load.js'
import {signalSupervisor} from '../helpers/supervision.js'
import {until} from '../helpers/until.js'
import {killAll, spawnNode, type NodeProcess} from '../helpers/nodes.js'

const dir = mkdtempSync(join(tmpdir(), 'kctl-reload-'))
let upstream: Server
let upstreamPort: number

/** A DB-less config: one service on the test upstream, one route per path. */
const declarative = (...paths: string[]) => `_format_version: "3.0"
services:
  - name: up
    url: http://127.0.0.1:${upstreamPort}
    routes:
${paths.map((p, i) => `      - name: r${i}\n        paths: ["${p}"]\n`).join('')}`

describe('reload', () => {
  let node: NodeProcess
  const pidFile = (): number => Number(readFileSync(join(node.prefix, 'supervisor.pid'), 'utf8').trim())
  let proxy: string
  let configFile: string

  before(async () => {
    upstream = createServer((req, res) => {
      // a little latency keeps requests in flight while the old process retires
      setTimeout(() => res.end(`hello from ${req.url}`), 5)
    })
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
    upstreamPort = (upstream.address() as AddressInfo).port
    configFile = join(dir, 'kong.yml')
    writeFileSync(configFile, declarative('/one'))
    const [proxyPort, statusPort] = [await findFreePort(), await findFreePort()]
    proxy = `http://127.0.0.1:${proxyPort}`
    node = spawnNode(dir, {database: 'off', declarative_config: configFile, proxy_listen: `127.0.0.1:${proxyPort}`, status_listen: `127.0.0.1:${statusPort}`, admin_listen: 'off'}, {status: `http://127.0.0.1:${statusPort}`})
    await node.waitReady()
  })

  const successors: number[] = []
  after(async () => {
    await node?.stop()
    // supervisors that took over are not our children: stop them by their recorded pid
    for (const pid of successors) if (isAlive(pid)) process.kill(pid, 'SIGTERM')
    await until('the supervisors that took over to exit', () => (successors.some(isAlive) ? undefined : true)).catch(() => {})
    killAll()
    upstream?.close()
    rmSync(dir, {recursive: true, force: true})
  })

  test('a new serving process takes over under load: 0 failed requests, the new configuration is live, the old process is gone', async () => {
    const before = await node.servingPid()
    assert.equal((await fetch(`${proxy}/two`)).status, 404)
    writeFileSync(configFile, declarative('/one', '/two'))
    const load = startLoad(`${proxy}/one`, 8)
    await until('the load under way', () => load.done() >= 30)
    const r = await signalSupervisor(node.prefix, node.proc.pid!, 'SIGHUP')
    const handedOver = load.done()
    await until('requests answered after the handover', () => load.done() >= handedOver + 30)
    const shots = await load.stop()
    assert.equal(r.last_reload?.ok, true, `reload failed: ${r.last_reload?.error}`)
    assert.equal(r.reloads, 1)
    assert.ok(r.serving_pid && r.serving_pid !== before, `serving process ${r.serving_pid} replaced ${before}`)
    assert.ok(shots.length > 50, `${shots.length} requests made`)
    assert.deepEqual(failures(shots), {}, `${shots.length} requests`)
    // the old process answers what arrives on its open connections until it exits
    await until('the old serving process to exit', () => (isAlive(before) ? undefined : true))
    assert.equal((await fetch(`${proxy}/two`)).status, 200, 'the route added to the file is served')
    await node.waitOutput(new RegExp(`previous serving process ${before} exited \\(exit code 0\\) after handing over`))
  })

  test('a new process that cannot start is stopped; the old one keeps serving and the reason is recorded', async () => {
    const serving = await node.servingPid()
    writeFileSync(configFile, '_format_version: "3.0"\nservices:\n  - name: up\n    url: not a url\n')
    const load = startLoad(`${proxy}/one`, 4)
    const r = await signalSupervisor(node.prefix, node.proc.pid!, 'SIGHUP')
    const shots = await load.stop()
    assert.equal(r.last_reload?.ok, false)
    assert.match(r.last_reload?.error ?? '', /declarative|url|invalid/i)
    assert.equal(r.serving_pid, serving, 'the old serving process still serves')
    assert.ok(isAlive(serving))
    assert.deepEqual(failures(shots), {}, `${shots.length} requests`)
    assert.equal((await fetch(`${proxy}/one`)).status, 200)
    assert.match(node.output(), /reload failed: the new serving process \d+ /)
  })

  test('a handover (SIGUSR2) under load: a new supervisor takes the sockets, the old one and its serving process exit, 0 failed requests', async () => {
    writeFileSync(configFile, declarative('/one', '/two'))
    const first = node.proc.pid!
    const servingBefore = await node.servingPid()
    const load = startLoad(`${proxy}/one`, 8)
    await until('the load under way', () => load.done() >= 30)
    assert.equal(pidFile(), first, 'supervisor.pid names the supervisor that owns the node')
    const r = await signalSupervisor(node.prefix, first, 'SIGUSR2')
    assert.equal(r.last_handover?.ok, true, r.last_handover?.error ?? '')
    // written by the new supervisor before the old one exits: a systemd unit's PIDFile=
    assert.equal(pidFile(), r.pid, 'supervisor.pid names the new supervisor')
    assert.notEqual(r.pid, first, 'the record is the new supervisor\'s')
    successors.push(r.pid)
    assert.equal(r.last_handover?.pid, r.pid)
    assert.equal(await node.exited, 0, 'the old supervisor exits 0 once its serving process drained')
    assert.ok(!isAlive(servingBefore), 'the old serving process is gone')
    const gone = load.done()
    await until('requests answered by the new supervisor alone', () => load.done() >= gone + 30)
    const shots = await load.stop()
    assert.ok(shots.length > 50, `${shots.length} requests`)
    assert.deepEqual(failures(shots), {}, `${shots.length} requests`)
    assert.ok(isAlive(r.pid) && r.serving_pid && isAlive(r.serving_pid))
    assert.equal((await fetch(`${proxy}/two`)).status, 200)

    // a handover whose new supervisor cannot start: the current one keeps the node
    writeFileSync(configFile, '_format_version: "3.0"\nservices:\n  - name: up\n    url: not a url\n')
    const failed = await signalSupervisor(node.prefix, r.pid, 'SIGUSR2')
    assert.equal(failed.last_handover?.ok, false)
    assert.equal(failed.pid, r.pid, 'the same supervisor keeps the node')
    assert.match(failed.last_handover?.error ?? '', /the new supervisor did not start/)
    assert.equal((await fetch(`${proxy}/one`)).status, 200)
    assert.equal(pidFile(), r.pid, 'supervisor.pid still names the supervisor that kept the node')

    // stopped, the node has no pid file: nothing names a process that is gone
    process.kill(r.pid, 'SIGTERM')
    await until('the supervisor to exit', () => (isAlive(r.pid) ? undefined : true))
    assert.equal(existsSync(join(node.prefix, 'supervisor.pid')), false)
  })
})
