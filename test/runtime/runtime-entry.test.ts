/**
 * `<prefix>/runtime.entry` with real processes: a reload (SIGHUP) starts the serving process
 * from the runtime the file names (another copy, with another version string), under a load
 * that sees no failure; a crash restart afterwards keeps that code; the record says which
 * entry runs.
 */
import assert from 'node:assert/strict'
import {cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {createServer, get, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {findFreePort} from '../../src/kit/ports.js'
import {runtimeVersion} from '../../src/runtime/kit/version.js'
import {ROOT} from '../helpers/kctl.js'
import {failures, startLoad} from '../helpers/load.js'
import {killAll, spawnNode, type NodeProcess} from '../helpers/nodes.js'
import {signalSupervisor, supervisionRecord} from '../helpers/supervision.js'
import {until} from '../helpers/until.js'

const dir = mkdtempSync(join(tmpdir(), 'kctl-entry-'))
const OTHER = `${runtimeVersion()}-other.1`

/** The runtime copied to `at` with package.json saying `version`; returns its main.js. */
function runtimeCopy(at: string, version: string): string {
  mkdirSync(at, {recursive: true})
  cpSync(join(ROOT, 'dist', 'src'), join(at, 'dist', 'src'), {recursive: true})
  symlinkSync(join(ROOT, 'node_modules'), join(at, 'node_modules'))
  writeFileSync(join(at, 'package.json'), JSON.stringify({name: 'kctl-runtime', version, private: true, type: 'module'}))
  return join(at, 'dist', 'src', 'runtime', 'main.js')
}

describe('runtime.entry', () => {
  let upstream: Server
  let node: NodeProcess
  let proxy: string
  let status: string

  before(async () => {
    upstream = createServer((req, res) => setTimeout(() => res.end('ok'), 5))
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
    const config = join(dir, 'kong.yml')
    writeFileSync(config, `_format_version: "3.0"\nservices:\n  - name: up\n    url: http://127.0.0.1:${(upstream.address() as AddressInfo).port}\n    routes:\n      - paths: ["/r"]\n`)
    const [proxyPort, statusPort] = [await findFreePort(), await findFreePort()]
    proxy = `http://127.0.0.1:${proxyPort}`
    status = `http://127.0.0.1:${statusPort}`
    node = spawnNode(dir, {database: 'off', declarative_config: config, proxy_listen: `127.0.0.1:${proxyPort}`, status_listen: `127.0.0.1:${statusPort}`, admin_listen: 'off'}, {status})
    await node.waitReady()
  })
  after(async () => {
    await node?.stop()
    killAll()
    upstream?.close()
    rmSync(dir, {recursive: true, force: true})
  })

  // a new connection each time: an idle keep-alive one may still reach the retiring process
  const reported = () =>
    new Promise<string>((resolve, reject) =>
      get(`${status}/status`, {agent: false}, (res) => {
        let body = ''
        res.on('data', (d) => (body += d))
        res.on('end', () => resolve(JSON.parse(body).kctl_version))
      }).on('error', reject),
    )

  test('a reload runs the code the file names, under load with 0 failed requests; a crash restart keeps it', async () => {
    assert.equal(await reported(), runtimeVersion())
    const main = runtimeCopy(join(dir, 'other'), OTHER)
    writeFileSync(join(node.prefix, 'runtime.entry'), `${main}\n`)
    const load = startLoad(`${proxy}/r`, 6)
    const r = await signalSupervisor(node.prefix, node.proc.pid!, 'SIGHUP')
    const shots = await load.stop()
    assert.equal(r.last_reload?.ok, true, r.last_reload?.error ?? '')
    assert.equal(r.entry, main, 'the record names the entry that runs')
    assert.equal(await reported(), OTHER)
    assert.ok(shots.length > 20, `${shots.length} requests`)
    assert.deepEqual(failures(shots), {})
    assert.match(node.output(), new RegExp(`runs ${main.replace(/[.]/g, '\\.')} from now on`))

    // the file names something else now: a crash restart still runs the code that ran
    writeFileSync(join(node.prefix, 'runtime.entry'), `${join(ROOT, 'dist', 'src', 'runtime', 'main.js')}\n`)
    const serving = await node.servingPid()
    process.kill(serving, 'SIGKILL')
    await until('a new serving process', () => {
      const rec = supervisionRecord(node.prefix)
      return rec.serving_pid && rec.serving_pid !== serving && rec.restarts === 1 ? true : undefined
    })
    await node.waitReady()
    assert.equal(await reported(), OTHER)
    assert.equal(supervisionRecord(node.prefix).entry, main)
    assert.equal(JSON.parse(readFileSync(join(node.prefix, 'supervisor.json'), 'utf8')).state, 'running')
  })
})
