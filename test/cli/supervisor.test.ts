/**
 * End to end: a node's supervisor (src/runtime/supervisor/) through the real CLI, a real
 * embedded Postgres and a real node. The serving process is SIGKILLed under load, crashes
 * on an uncaught exception, and crashes at every start; `kctl status` shows what happened.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {isAlive} from '../../src/kit/process.js'
import {failures as failuresOf, startLoad} from '../helpers/load.js'
import {until} from '../helpers/until.js'
import {createSandbox, processesMentioning, runKctl, specYaml, withPortTaken, type Sandbox} from '../helpers/kctl.js'
import {findFreePort} from '../../src/kit/ports.js'
import {writeFile} from 'node:fs/promises'


describe('a node under its supervisor', () => {
  let sb: Sandbox
  let upstream: Server
  let prefix: string
  const record = () => JSON.parse(readFileSync(join(prefix, 'supervisor.json'), 'utf8'))
  const nodeLog = () => readFileSync(join(prefix, 'logs', 'node.log'), 'utf8')
  const status = async () => {
    const r = await sb.kctl('status', '--json')
    return {code: r.code, body: JSON.parse(r.stdout), stderr: r.stderr}
  }
  const nodeStatus = async () => (await status()).body.nodes.find((n: {name: string}) => n.name === 'node-1')
  const servingPid = () =>
    until('a serving process', async () => {
      const r = record()
      return r.state === 'running' && r.serving_pid ? (r.serving_pid as number) : undefined
    })
  /** The warm spare standing by (forked a moment after the serving process started). */
  const sparePid = () =>
    until('a warm spare', async () => {
      const r = record()
      return r.state === 'running' && r.spare_pid && isAlive(r.spare_pid) ? (r.spare_pid as number) : undefined
    })
  const proxyAnswers = (path: string) =>
    until(`the proxy answers ${path}`, async () => ((await fetch(`http://127.0.0.1:${sb.ports.proxy}${path}`)).status === 200 ? true : undefined))

  before(async () => {
    sb = await createSandbox()
    await sb.writeSpec()
    upstream = createServer((req, res) => setTimeout(() => res.end('ok'), 20))
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
    prefix = join(sb.dataDir, 'clusters', 'e2e', 'nodes', 'node-1')
    const init = await sb.kctl('init')
    assert.equal(init.code, 0, `${init.stdout}\n${init.stderr}`)
    await sb.kctl('nodes', '--json') // remembers the pids for cleanup
    const admin = `http://127.0.0.1:${sb.ports.admin}`
    const post = (path: string, body: unknown) => fetch(`${admin}${path}`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(body)})
    assert.equal((await post('/services', {name: 'slow', url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`})).status, 201)
    assert.equal((await post('/services/slow/routes', {paths: ['/slow']})).status, 201)
    await proxyAnswers('/slow')
  })
  after(async () => {
    await sb?.cleanup()
    upstream?.close()
  })

  it('SIGKILL of the serving process under load: its warm spare serves at once, only requests in flight fail, no connection is refused; status shows the restart', async () => {
    const supervisor = record().pid
    const victim = await servingPid()
    const spare = await sparePid()
    assert.notEqual(spare, victim)
    const concurrency = 8
    const running = startLoad(`http://127.0.0.1:${sb.ports.proxy}/slow`, concurrency)
    await until('the load to run', async () => (running.done() >= 50 ? true : undefined))
    const killedAt = Date.now()
    process.kill(victim, 'SIGKILL')
    const doneAtKill = running.done()
    await until('requests served after the kill', async () => (running.done() >= doneAtKill + 100 ? true : undefined))
    const shots = await running.stop()

    const failures = shots.filter((s) => !s.ok)
    const inFlight = shots.filter((s) => s.start <= killedAt && s.end >= killedAt).length
    const after = shots.filter((s) => s.start > killedAt)
    const back = Math.min(...after.filter((s) => s.ok).map((s) => s.end))
    const codes = failures.map((f) => f.code)
    console.log(`${shots.length} requests, ${failures.length} failed (${codes.join(', ') || 'none'}), ${inFlight} in flight at the kill, served again ${back - killedAt} ms after it`)
    assert.ok(shots.filter((s) => s.start < killedAt && s.ok).length > 0, 'served before the kill')
    assert.ok(after.filter((s) => s.ok).length > 0, 'served after the kill')
    assert.ok(failures.length <= concurrency, `at most one failure per client loop (${failures.length})`)
    assert.ok(failures.length <= inFlight, `only requests in flight at the kill fail (${failures.length} > ${inFlight})`)
    assert.equal(codes.filter((c) => c === 'ECONNREFUSED').length, 0, 'no connection refused during the restart')
    assert.ok(failures.every((f) => f.start <= back), 'nothing fails once the new serving process serves')
    // The restart itself takes a process start (about 0.5 s of CPU); bounded loosely, as the
    // machine running the tests may be busy.
    assert.ok(back - killedAt < 10_000, `served again ${back - killedAt} ms after the kill`)

    const r = record()
    assert.equal(r.pid, supervisor, 'the supervisor (the node pid kctl knows) stays')
    assert.equal(r.serving_pid, spare, 'the warm spare became the serving process')
    assert.match(nodeLog(), new RegExp(`warm spare ${spare} starts as the serving process`))
    const next = await sparePid()
    assert.ok(next !== spare && next !== victim && isAlive(next), 'a new spare stands by')
    const n = await nodeStatus()
    assert.equal(n.state, 'running')
    assert.equal(n.pid, supervisor)
    assert.equal(n.restarts, 1)
    assert.equal(n.last_crash.cause, 'killed by SIGKILL')
    assert.ok(Math.abs(n.last_crash.at - killedAt / 1000) < 5, 'the crash time')
    const fromNode = await (await fetch(`http://127.0.0.1:${sb.ports.status}/status`)).json()
    assert.equal(fromNode.restarts, 1, '/status says it too')
    assert.match(nodeLog(), new RegExp(`serving process ${victim} crashed: killed by SIGKILL; restarting it \\(restart 1\\)`))
    const plain = await sb.kctl('status')
    assert.match(plain.stdout, /node-1 last crash \d\d:\d\d:\d\d killed by SIGKILL/)
  })

  it('a warm spare that dies is replaced, and the serving process is left alone', async () => {
    const serving = await servingPid()
    const spare = await sparePid()
    process.kill(spare, 'SIGKILL')
    const next = await until('another warm spare', async () => {
      const r = record()
      return r.spare_pid && r.spare_pid !== spare && isAlive(r.spare_pid) ? (r.spare_pid as number) : undefined
    })
    assert.notEqual(next, serving)
    assert.equal(record().serving_pid, serving, 'the serving process is the same')
    assert.equal(record().restarts, 1, 'a spare is no restart')
    assert.match(nodeLog(), new RegExp(`warm spare ${spare} exited \\(killed by SIGKILL\\); forking another`))
  })

  it('kctl reload under load: the warm spare reads the new conf from kctl.yaml and takes over, 0 failed requests, the old serving process is gone', async () => {
    const before = await servingPid()
    const spare = await sparePid()
    const supervisor = record().pid
    const via = async () => (await fetch(`http://127.0.0.1:${sb.ports.proxy}/slow`)).headers.get('via')
    assert.match((await via()) ?? '', /kong/, 'Kong headers before the reload')
    // headers = off: no Via, no X-Kong-* headers; and no warm spare from now on
    await writeFile(join(sb.cwd, 'kctl.yaml'), specYaml('e2e', sb.ports).replace(/(status_listen: .*\n)/, '$1      conf: {headers: "off", kctl_warm_spare: "off"}\n'))
    const load = startLoad(`http://127.0.0.1:${sb.ports.proxy}/slow`, 8)
    await until('the load to run', async () => (load.done() >= 50 ? true : undefined))
    const r = await sb.kctl('reload', '--json')
    const shots = await load.stop()
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout), {cluster: 'e2e', reloaded: ['node-1'], not_running: []})
    assert.ok(shots.length > 50, `${shots.length} requests`)
    assert.deepEqual(failuresOf(shots), {}, `${shots.length} requests, none may fail`)
    assert.equal(record().pid, supervisor, 'the node pid kctl knows stays')
    assert.notEqual(record().serving_pid, before)
    // the old process answers what arrives on its open connections until it exits
    await until('the old serving process to exit', async () => (isAlive(before) ? undefined : true))
    assert.equal(await via(), null, 'headers = off is live')
    assert.equal(record().reloads, 1)
    assert.equal(record().serving_pid, spare, 'the warm spare took over')
    assert.equal(record().spare_pid, null, 'kctl_warm_spare = off: none stands by')
    assert.equal(isAlive(spare), true)
  })

  it('a reload whose new process cannot listen: exit 1 with the reason, the node keeps serving with its previous kong.conf', async () => {
    const serving = await servingPid()
    const confBefore = readFileSync(join(prefix, 'kong.conf'), 'utf8')
    const taken = await findFreePort()
    const spec = specYaml('e2e', {...sb.ports, status: taken}).replace(/(status_listen: .*\n)/, '$1      conf: {headers: "off"}\n')
    await writeFile(join(sb.cwd, 'kctl.yaml'), spec)
    const r = await withPortTaken(taken, async () => {
      const load = startLoad(`http://127.0.0.1:${sb.ports.proxy}/slow`, 4)
      const out = await sb.kctl('reload', 'node-1')
      assert.deepEqual(failuresOf(await load.stop()), {}, 'no request fails while the new process is refused')
      return out
    })
    assert.equal(r.code, 1, r.stdout)
    assert.match(r.stderr, new RegExp(`node-1 was not reloaded: the new serving process .*${taken}.*address already in use.*keeps serving with its previous configuration`, 's'))
    assert.equal(record().serving_pid, serving, 'the old serving process still serves')
    assert.equal(readFileSync(join(prefix, 'kong.conf'), 'utf8'), confBefore, 'kong.conf is back as it was')
    await proxyAnswers('/slow')
    await sb.writeSpec()
  })

  it('an uncaught exception in the serving process: logged with its cause, restarted', async () => {
    const stop = await sb.kctl('stop', 'node-1')
    assert.equal(stop.code, 0, stop.stderr)
    const start = await runKctl(['start', 'node-1'], {cwd: sb.cwd, env: {KCTL_DATA_DIR: sb.dataDir, KCTL_TEST_CRASH_ON_SIGUSR2: '1'}})
    assert.equal(start.code, 0, start.stderr)
    await sb.kctl('nodes', '--json')
    const victim = await servingPid()
    assert.equal((await nodeStatus()).restarts, 0, 'a new supervisor counts from 0')
    process.kill(victim, 'SIGUSR2')
    const n = await until('the restart in kctl status', async () => {
      const s = await nodeStatus()
      return s.restarts === 1 && s.reachable ? s : undefined
    })
    assert.equal(n.last_crash.cause, 'exit code 1 (crashed: Error: crash requested by SIGUSR2 (KCTL_TEST_CRASH_ON_SIGUSR2))')
    assert.match(nodeLog(), /\[error\] crashed: Error: crash requested by SIGUSR2/, 'the serving process logged the exception with its stack')
    assert.match(nodeLog(), new RegExp(`serving process ${victim} crashed: exit code 1 \\(crashed: Error: crash requested by SIGUSR2`))
    await proxyAnswers('/slow')
  })

  it('a serving process that crashes at every start: kctl start fails, the node is failed with the cause, nothing is left running', async () => {
    const stop = await sb.kctl('stop', 'node-1')
    assert.equal(stop.code, 0, stop.stderr)
    const start = await runKctl(['start', 'node-1'], {cwd: sb.cwd, env: {KCTL_DATA_DIR: sb.dataDir, KCTL_TEST_CRASH_AT_START: '1'}})
    assert.equal(start.code, 1, `${start.stdout}\n${start.stderr}`)
    const cause = 'serving process crashed 3 times in a row while starting; last: exit code 1 (crashed: Error: crash at start requested by KCTL_TEST_CRASH_AT_START)'
    assert.ok(start.stderr.includes(`Node node-1 exited during start: ${cause}`), start.stderr)
    assert.equal((nodeLog().match(/crashed while starting/g) ?? []).length >= 3, true, 'three starts, each logged')

    const s = await status()
    assert.equal(s.code, 1, 'unhealthy')
    const n = s.body.nodes.find((x: {name: string}) => x.name === 'node-1')
    assert.equal(n.state, 'failed')
    assert.equal(n.error, cause)
    assert.equal(n.restarts, 2)
    assert.match(n.last_crash.cause, /crash at start requested by KCTL_TEST_CRASH_AT_START/)
    assert.ok(s.body.problems.includes(`node-1 is failed (${cause})`), s.body.problems.join('; '))
    assert.equal(record().state, 'failed')
    assert.equal(isAlive(record().pid), false)
    assert.deepEqual(await processesMentioning(join(prefix, 'kong.conf')), [], 'neither the supervisor nor a serving process is left')
  })
})
