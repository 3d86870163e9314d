/**
 * End to end, hybrid mode: `kctl init --mode hybrid` brings up Postgres, a control plane and
 * two data planes with generated certificates; a write on the CP is proxied by both DPs;
 * per-node stop/start, a DP started while the CP is down, and destroy. Also with the
 * user's own certificate (`gen-cert`, then `init --cert --key`).
 */
import assert from 'node:assert/strict'
import {existsSync, rmSync, writeFileSync} from 'node:fs'
import {readFile, writeFile} from 'node:fs/promises'
import type {Server} from 'node:http'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {connect} from 'node:tls'
import {parse, stringify} from 'yaml'
import {isAlive} from '../../src/kit/process.js'
import {create, served, startUpstream} from '../helpers/http.js'
import {until} from '../helpers/until.js'
import {failures as failuresOf, startLoad} from '../helpers/load.js'
import {createSandbox, processesMentioning, withPortTaken, type Sandbox} from '../helpers/kctl.js'
import {hybridPorts, hybridSpec, type HybridPorts} from '../helpers/specs.js'

interface NodeRow {
  name: string
  role: string
  pid: number | null
  state: string
  listen: Record<string, string>
}

async function nodesJson(sb: Sandbox): Promise<NodeRow[]> {
  const r = await sb.kctl('nodes', '--json')
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout).nodes
}

/** Every DP row on the CP carries the CP's configuration hash. */
async function allInSync(p: HybridPorts): Promise<boolean> {
  const hash = (await (await fetch(`http://127.0.0.1:${p.cp.status}/status`)).json()).configuration_hash
  const rows = (await (await fetch(`http://127.0.0.1:${p.cp.admin}/clustering/data-planes`)).json()).data as {config_hash: string}[]
  return rows.length === p.dps.length && rows.every((r) => r.config_hash === hash)
}

describe('kctl init --mode hybrid (shared certificate)', () => {
  let sb: Sandbox
  let p: HybridPorts
  let upstream: {server: Server; port: number}
  const proxy = (i: number, path: string) => `http://127.0.0.1:${p.dps[i].proxy}${path}`

  before(async () => {
    sb = await createSandbox()
    p = await hybridPorts(2)
    upstream = await startUpstream()
    await writeFile(join(sb.cwd, 'kctl.yaml'), hybridSpec('hy', p, {certificates: {mtls: 'shared', days: 30}}))
  })
  after(async () => {
    await sb?.cleanup()
    upstream?.server.close()
  })

  it('brings up the CP and both DPs, in sync', async () => {
    const r = await sb.kctl('init')
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    assert.match(r.stderr, /Certificates/)
    assert.match(r.stderr, /dp-1, dp-2 in sync with cp-1/)
    assert.match(r.stdout, new RegExp(`Proxy: +http://127.0.0.1:${p.dps[1].proxy} \\(dp-2\\)`))
    assert.match(r.stdout, new RegExp(`Admin API: +http://127.0.0.1:${p.cp.admin}`))
    assert.ok(await allInSync(p))
  })

  it('a write on the CP Admin API is proxied by both DPs', async () => {
    const admin = `http://127.0.0.1:${p.cp.admin}`
    await create(`${admin}/services`, {name: 's', url: `http://127.0.0.1:${upstream.port}`})
    await create(`${admin}/services/s/routes`, {'paths[]': '/s'})
    for (const i of [0, 1]) assert.equal(JSON.parse(await served(proxy(i, '/s/x'))).path, '/x')
    await until('both DPs report the new hash', () => allInSync(p))
  })

  it('nodes --json lists postgres, the CP and the DPs with their listeners', async () => {
    const rows = await nodesJson(sb)
    assert.deepEqual(rows.map((n) => [n.name, n.role, n.state]), [['postgres', 'database', 'running'], ['cp-1', 'control_plane', 'running'], ['dp-1', 'data_plane', 'running'], ['dp-2', 'data_plane', 'running']])
    assert.deepEqual(rows[1].listen, {admin: `127.0.0.1:${p.cp.admin}`, status: `127.0.0.1:${p.cp.status}`, cluster: `127.0.0.1:${p.cp.cluster}`})
    assert.deepEqual(rows[2].listen, {proxy: `127.0.0.1:${p.dps[0].proxy}`, status: `127.0.0.1:${p.dps[0].status}`})
    for (const n of rows) assert.ok(Number.isInteger(n.pid) && isAlive(n.pid!), n.name)
  })

  it('stop dp-1 / start dp-1: dp-2 keeps serving, dp-1 comes back in sync', async () => {
    const stop = await sb.kctl('stop', 'dp-1')
    assert.equal(stop.code, 0, stop.stderr)
    assert.deepEqual((await nodesJson(sb)).map((n) => n.state), ['running', 'running', 'stopped', 'running'])
    assert.equal((await fetch(proxy(1, '/s/y'))).status, 200)
    const start = await sb.kctl('start', 'dp-1')
    assert.equal(start.code, 0, start.stderr)
    assert.match(start.stderr, /dp-1 in sync with cp-1/)
    assert.equal((await fetch(proxy(0, '/s/z'))).status, 200)
  })

  it('a DP started while the CP is down comes up serving its cached configuration', async () => {
    assert.equal((await sb.kctl('stop', 'cp-1')).code, 0)
    assert.equal((await sb.kctl('stop', 'dp-2')).code, 0)
    const start = await sb.kctl('start', 'dp-2')
    assert.equal(start.code, 0, start.stderr)
    assert.match(start.stderr, /no control plane is running/)
    assert.equal((await fetch(proxy(1, '/s/cached'))).status, 200)
    const cp = await sb.kctl('start', 'cp-1')
    assert.equal(cp.code, 0, cp.stderr)
    // Starting the CP waits until the DPs that kept running are back: in sync when it returns.
    assert.match(cp.stderr, /dp-1, dp-2 back in sync with cp-1 \(configuration hash [0-9a-f]{32}\)/)
    assert.ok(await allInSync(p), 'every DP reports the CP hash when `kctl start cp-1` returns')
  })

  it('restart (rolling) and reload under a load spread over both DPs: 0 failed requests, every node has a new process, the DPs in sync', async () => {
    const before = await nodesJson(sb)
    const loads = [0, 1].map((i) => startLoad(proxy(i, '/s/load'), 4))
    const r = await sb.kctl('restart', '--json')
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout), {cluster: 'hy', restarted: ['cp-1', 'dp-1', 'dp-2'], started: [], already_running: ['postgres']})
    const reload = await sb.kctl('reload', '--json')
    assert.equal(reload.code, 0, reload.stderr)
    assert.deepEqual(JSON.parse(reload.stdout), {cluster: 'hy', reloaded: ['cp-1', 'dp-1', 'dp-2'], not_running: []})
    const shots = (await Promise.all(loads.map((l) => l.stop()))).flat()
    assert.ok(shots.length > 100, `${shots.length} requests`)
    assert.deepEqual(failuresOf(shots), {}, `${shots.length} requests over both DPs, none may fail`)
    const after = await nodesJson(sb)
    assert.deepEqual(after.map((n) => n.state), ['running', 'running', 'running', 'running'])
    for (const i of [1, 2, 3]) {
      assert.notEqual(after[i].pid, before[i].pid, `${after[i].name} runs a new supervisor`)
      assert.ok(!isAlive(before[i].pid!), `${after[i].name}'s old supervisor is gone`)
    }
    assert.equal(after[0].pid, before[0].pid, 'the database kept running')
    await until('both DPs in sync after the restart', () => allInSync(p))
    // a change after the restart reaches both DPs through the new processes
    await create(`http://127.0.0.1:${p.cp.admin}/services/s/routes`, {'paths[]': '/after-restart'})
    for (const i of [0, 1]) await until(`dp-${i + 1} serves the new route`, async () => (await fetch(proxy(i, '/after-restart'))).status === 200)
  })

  it('scale --data-planes 3 then 1: dp-3 joins in sync and serves; dp-2 and dp-3 drain and leave, dp-1 serves throughout, the CP lists only dp-1', async () => {
    const specBefore = await readFile(join(sb.cwd, 'kctl.yaml'), 'utf8')
    const up = await sb.kctl('scale', '--data-planes', '3', '--json')
    assert.equal(up.code, 0, up.stderr)
    assert.deepEqual(JSON.parse(up.stdout), {cluster: 'hy', added: ['dp-3'], removed: [], nodes: ['dp-1', 'dp-2', 'dp-3']})
    const spec = await readFile(join(sb.cwd, 'kctl.yaml'), 'utf8')
    assert.ok(spec.startsWith(specBefore.trimEnd().split('\n')[0]), 'the spec keeps its first lines')
    const dp3 = (await nodesJson(sb)).find((n) => n.name === 'dp-3')!
    assert.equal(dp3.state, 'running')
    const dp3Proxy = `http://${dp3.listen.proxy.split(',')[0].trim()}`
    assert.equal(JSON.parse(await served(`${dp3Proxy}/s/x`)).path, '/x', 'the new DP serves the configuration')
    assert.ok(!p.dps.some((d) => dp3.listen.proxy.includes(`:${d.proxy}`)), 'on ports of its own')
    await until('the CP lists 3 DPs', async () => ((await (await fetch(`http://127.0.0.1:${p.cp.admin}/clustering/data-planes`)).json()).data.length === 3))

    const load = startLoad(proxy(0, '/s/during-scale'), 4)
    const down = await sb.kctl('scale', '--data-planes', '1', '--json')
    const shots = await load.stop()
    assert.equal(down.code, 0, down.stderr)
    assert.deepEqual(JSON.parse(down.stdout), {cluster: 'hy', added: [], removed: ['dp-2', 'dp-3'], nodes: ['dp-1']})
    assert.deepEqual(failuresOf(shots), {}, `${shots.length} requests to dp-1 while the others left`)
    assert.deepEqual((await nodesJson(sb)).map((n) => n.name), ['postgres', 'cp-1', 'dp-1'])
    const id = (await readFile(join(sb.dataDir, 'clusters', 'hy', 'nodes', 'dp-1', 'kong.id'), 'utf8')).trim()
    const rows = (await (await fetch(`http://127.0.0.1:${p.cp.admin}/clustering/data-planes`)).json()).data as {id: string}[]
    assert.deepEqual(rows.map((r) => r.id), [id], 'the CP lists exactly the remaining DP')
    assert.ok(!existsSync(join(sb.dataDir, 'clusters', 'hy', 'nodes', 'dp-2')), 'the removed node\'s files are gone')
    assert.doesNotMatch(await readFile(join(sb.cwd, 'kctl.yaml'), 'utf8'), /dp-2|dp-3/)
    const again = await sb.kctl('scale', '--data-planes', '1')
    assert.equal(again.stdout, 'Nothing to change: dp-1.\n')
  })

  it('destroy --yes leaves no process, no state and no generated certificate', async () => {
    const pids = (await nodesJson(sb)).map((n) => n.pid!)
    const r = await sb.kctl('destroy', '--yes')
    assert.equal(r.code, 0, r.stderr)
    for (const pid of pids) assert.equal(isAlive(pid), false, `pid ${pid} still alive`)
    assert.deepEqual(await processesMentioning(sb.dir), [])
    assert.equal(existsSync(join(sb.dataDir, 'clusters', 'hy')), false)
  })
})

describe('kctl init --mode hybrid --dry-run', () => {
  let sb: Sandbox
  before(async () => {
    sb = await createSandbox()
  })
  after(async () => {
    await sb?.cleanup()
  })

  it('plans certificates, the control plane, then every data plane, and writes nothing', async () => {
    const r = await sb.kctl('init', '--mode', 'hybrid', '--data-planes', '3', '--mtls', 'pki', '--dry-run')
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /Certificates\n  - generate .*ca\.crt \(mtls pki\)/)
    assert.match(r.stdout, /check port 8200 \(proxy_listen of dp-3\)/)
    assert.match(r.stdout, /Start control planes\n  - start cp-1[^]*Start data planes\n  - start dp-1[^]*dp-3[^]*Wait until data planes are in sync/)
    assert.equal(existsSync(join(sb.cwd, 'kctl.yaml')), false)
  })

  it('with a kctl.yaml present, says which flags that only shape a new spec it ignores', async () => {
    const spec = join(sb.cwd, 'kctl.yaml')
    writeFileSync(spec, 'apiVersion: kctl/v1\nkind: Cluster\nmetadata: {name: kept}\nspec:\n  mode: embedded\n  database: {embedded: true}\n  nodes: [{name: node-1, role: traditional}]\n')
    try {
      const r = await sb.kctl('init', '--mode', 'hybrid', '--data-planes', '3', '--mtls', 'pki', '--database', 'postgres://kong@127.0.0.1:5432/kong', '--dry-run')
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stderr, /sets mode embedded; ignoring --mode hybrid/)
      assert.match(r.stderr, /exists; --database, --data-planes, --mtls only shape a new spec and are ignored\. Edit .*kctl\.yaml \(or remove it\) to change them\./)
      assert.doesNotMatch(r.stdout, /dp-1/)
    } finally {
      rmSync(spec)
    }
  })
})

describe('kctl init --mode hybrid --mtls pki', () => {
  let sb: Sandbox
  let p: HybridPorts

  before(async () => {
    sb = await createSandbox()
    p = await hybridPorts(2)
    await writeFile(join(sb.cwd, 'kctl.yaml'), hybridSpec('pki', p, {certificates: {mtls: 'pki', days: 30}}))
  })
  after(async () => {
    await sb?.cleanup()
  })

  it('issues a CA and one certificate per node, and both DPs come up in sync', async () => {
    const r = await sb.kctl('init')
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    assert.match(r.stderr, /generated 4 certificate\(s\), mtls pki/)
    assert.ok(await allInSync(p))
    for (const f of ['ca', 'cp-1', 'dp-1', 'dp-2']) assert.ok(existsSync(join(sb.dataDir, 'clusters', 'pki', 'certs', `${f}.crt`)), f)
    await sb.kctl('nodes', '--json') // records the pids for cleanup
  })
})

describe('kctl init --mode hybrid --cert FILE --key FILE (the user\'s certificate from gen-cert)', () => {
  let sb: Sandbox
  let p: HybridPorts
  let crt: string
  let key: string
  let fingerprint: string

  before(async () => {
    sb = await createSandbox()
    p = await hybridPorts(2)
    crt = join(sb.dir, 'mine', 'cluster.crt')
    key = join(sb.dir, 'mine', 'cluster.key')
    const r = await sb.kctl('gen-cert', '--cert', crt, '--key', key, '--json')
    assert.equal(r.code, 0, r.stderr)
    fingerprint = JSON.parse(r.stdout).fingerprint_sha256
  })
  after(async () => {
    await sb?.cleanup()
  })

  /** The SHA-256 of the certificate the CP presents on its cluster listener (hex, lower case, no colons). */
  const presented = () =>
    new Promise<string>((resolve, reject) => {
      const s = connect({host: '127.0.0.1', port: p.cp.cluster, servername: 'kong_clustering', rejectUnauthorized: false}, () => {
        resolve(s.getPeerCertificate().fingerprint256.replace(/:/g, '').toLowerCase())
        s.destroy()
      })
      s.on('error', reject)
    })

  // With no kctl.yaml, init renders one on Kong's default ports, which other tests may hold:
  // the first run is made to stop at preflight on 8001 (the spec is written by then), the
  // spec's listen addresses are moved to free ports, and a second init brings it up.
  it('writes the files into the spec, and brings the cluster up presenting that certificate', async () => {
    const first = await withPortTaken(8001, () => sb.kctl('init', '--mode', 'hybrid', '--cert', crt, '--key', key))
    assert.equal(first.code, 1, `${first.stdout}\n${first.stderr}`)
    assert.match(first.stderr, /Port 8001 is already in use/)
    const spec = parse(await readFile(join(sb.cwd, 'kctl.yaml'), 'utf8'))
    assert.deepEqual(spec.spec.certificates, {mtls: 'shared', days: 1095, cert: crt, key})
    const [cp, ...dps] = spec.spec.nodes
    Object.assign(cp, {admin_listen: `127.0.0.1:${p.cp.admin}`, cluster_listen: `127.0.0.1:${p.cp.cluster}`, status_listen: `127.0.0.1:${p.cp.status}`})
    dps.forEach((dp: Record<string, string>, i: number) => Object.assign(dp, {proxy_listen: `127.0.0.1:${p.dps[i].proxy}`, status_listen: `127.0.0.1:${p.dps[i].status}`}))
    await writeFile(join(sb.cwd, 'kctl.yaml'), stringify(spec))

    const r = await sb.kctl('init')
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    assert.match(r.stderr, /using the existing certificates \(mtls shared\)/)
    assert.match(r.stderr, /dp-1, dp-2 in sync with cp-1/)
    assert.ok(await allInSync(p))
    assert.equal(await presented(), fingerprint)
    assert.equal(existsSync(join(sb.dataDir, 'clusters', 'demo', 'certs')), false, 'nothing generated')
    await sb.kctl('nodes', '--json') // records the pids for cleanup
  })

  it('certs status lists that file as not generated; certs rotate refuses it and changes nothing', async () => {
    const status = JSON.parse((await sb.kctl('certs', 'status', '--json')).stdout)
    assert.deepEqual(status.certificates.map((c: any) => [c.kind, c.file, c.generated, c.fingerprint_sha256]), [['cluster', crt, false, fingerprint]])
    const before = await readFile(crt)
    const r = await sb.kctl('certs', 'rotate')
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /uses your own certificate \(spec\.certificates\.cert: .*cluster\.crt\); kctl rotates only the certificates it generated/)
    assert.deepEqual(await readFile(crt), before)
    assert.equal(await presented(), fingerprint)
  })

  it('destroy --yes removes the cluster and leaves the certificate and key in place', async () => {
    const before = {crt: await readFile(crt), key: await readFile(key)}
    const r = await sb.kctl('destroy', '--yes')
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(await processesMentioning(sb.dir), [])
    assert.equal(existsSync(join(sb.dataDir, 'clusters', 'demo')), false)
    assert.deepEqual(await readFile(crt), before.crt)
    assert.deepEqual(await readFile(key), before.key)
  })
})
