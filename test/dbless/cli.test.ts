/**
 * kctl diff / apply / dump / reset against a real DB-less traditional node: the engine
 * reads the read-only entity endpoints, diffs as usual and writes one whole `POST
 * /config` (one swap). Errors the node finds come back located like local ones.
 */
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {findFreePort} from '../../src/kit/ports.js'
import {runKctl} from '../helpers/kctl.js'
import {killAll, type NodeProcess, spawnNode} from '../helpers/nodes.js'

const dir = mkdtempSync(join(tmpdir(), 'kctl-dbless-cli-'))
let node: NodeProcess
let admin: string
let status: string
let proxy: string
let upstream: Server

const start = `_format_version: "3.0"
services:
- name: old
  host: old.example
`
const target = `_format_version: "3.0"
services:
- name: svc1
  host: svc1.example
  tags: [team-a]
  routes:
  - name: r1
    paths: [/r1]
    tags: [team-a]
    plugins:
    - name: key-auth
      tags: [team-a]
consumers:
- username: alice
  keyauth_credentials:
  - key: alice-key
  basicauth_credentials:
  - username: alice
    password: s3cret
`

const kctl = (...args: string[]) => runKctl([...args, '--admin-url', admin], {cwd: dir, env: {KCTL_DATA_DIR: join(dir, 'data'), NO_COLOR: '1'}})
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text)
  return join(dir, name)
}
const get = async (path: string) => (await fetch(admin + path)).json() as Promise<any>
const hash = async () => (await get('/status')).configuration_hash as string

before(async () => {
  const [a, p, s] = [await findFreePort(), await findFreePort(), await findFreePort()]
  admin = `http://127.0.0.1:${a}`
  status = `http://127.0.0.1:${s}`
  proxy = `http://127.0.0.1:${p}`
  upstream = createServer((_req, res) => res.end('upstream'))
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
  node = spawnNode(dir, {database: 'off', declarative_config: file('start.yaml', start), admin_listen: `127.0.0.1:${a}`, proxy_listen: `127.0.0.1:${p}`, status_listen: `127.0.0.1:${s}`}, {status})
  await node.waitReady()
})
after(async () => {
  await node?.stop()
  killAll()
  upstream?.close()
  rmSync(dir, {recursive: true, force: true})
})

describe('declarative commands against a DB-less node', () => {
  test('diff and apply --dry-run show the changes and change nothing', async () => {
    const before = await hash()
    const d = await kctl('diff', file('target.yaml', target), '--non-zero-exit-code')
    assert.equal(d.code, 2, d.stderr)
    assert.match(d.stdout, /creating service svc1/)
    assert.match(d.stdout, /deleting service old/)
    const dry = await kctl('apply', join(dir, 'target.yaml'), '--dry-run', '--json')
    assert.equal(dry.code, 0, dry.stderr)
    assert.deepEqual(JSON.parse(dry.stdout).summary, {created: 6, updated: 0, deleted: 1})
    assert.equal(JSON.parse(dry.stdout).applied, false)
    assert.equal(await hash(), before)
  })

  test('apply posts the whole state in one swap; re-applying and a dump round trip are no-ops', async () => {
    const r = await kctl('apply', join(dir, 'target.yaml'), '--yes')
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /Created: 6 {2}Updated: 0 {2}Deleted: 1/)
    assert.deepEqual((await get('/services')).data.map((s: any) => s.name), ['svc1'])
    assert.equal((await get('/consumers/alice/key-auth')).data[0].key, 'alice-key')
    // The node hashed the password on load; the engine compares it as stored.
    assert.notEqual((await get('/consumers/alice/basic-auth')).data[0].password, 's3cret')
    const applied = await hash()
    const again = await kctl('apply', join(dir, 'target.yaml'), '--json')
    assert.equal(again.code, 0, again.stderr)
    assert.deepEqual(JSON.parse(again.stdout).summary, {created: 0, updated: 0, deleted: 0})
    assert.equal(await hash(), applied)
    const dumped = await kctl('dump', '-o', join(dir, 'dump.yaml'))
    assert.equal(dumped.code, 0, dumped.stderr)
    const d = await kctl('diff', join(dir, 'dump.yaml'), '--non-zero-exit-code')
    assert.equal(d.code, 0, d.stdout + d.stderr)
  })

  test('--select-tag keeps the entities without the tag', async () => {
    const r = await kctl('apply', file('team-a.yaml', '_format_version: "3.0"\nservices:\n- name: svc2\n  host: svc2.example\n'), '--select-tag', 'team-a', '--json')
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout).summary, {created: 1, updated: 0, deleted: 3})
    assert.deepEqual((await get('/services')).data.map((s: any) => s.name).sort(), ['svc2'])
    assert.equal((await get('/consumers/alice')).username, 'alice')
    assert.equal((await get('/plugins')).data.length, 0)
  })

  test('a configuration the node refuses changes nothing and is reported per entity', async () => {
    // An untagged route on a tagged service: deleting the service under --select-tag
    // leaves the route pointing nowhere, which only the node sees.
    const both = file('both.yaml', '_format_version: "3.0"\nservices:\n- name: svc3\n  host: svc3.example\n  tags: [team-b]\nroutes:\n- name: orphan\n  paths: [/o]\n  service: svc3\n')
    assert.equal((await kctl('apply', both, '--yes')).code, 0)
    const before = await hash()
    const r = await kctl('apply', file('empty-b.yaml', '_format_version: "3.0"\n'), '--select-tag', 'team-b', '--allow-empty', '--yes')
    assert.equal(r.code, 1, r.stdout)
    assert.match(r.stderr, /gateway: routes\[orphan\]: service: /)
    assert.doesNotMatch(r.stderr, /declarative config is invalid/)
    assert.match(r.stderr, /nothing was changed/i)
    assert.equal(await hash(), before)
  })

  test('what the node refuses is reported with values from the environment masked', async () => {
    const both = file('both-env.yaml', '_format_version: "3.0"\nservices:\n- name: svc4\n  host: svc4.example\n  tags: [team-c]\nroutes:\n- name: ${{ env "DECK_ROUTE" }}\n  paths: [/o4]\n  service: svc4\n')
    const env = {KCTL_DATA_DIR: join(dir, 'data'), NO_COLOR: '1', DECK_ROUTE: 'route-from-env'}
    const withEnv = (...args: string[]) => runKctl([...args, '--admin-url', admin], {cwd: dir, env})
    assert.equal((await withEnv('apply', both, '--yes')).code, 0)
    // The file that deleted svc4 names the route too (an env value), so the masking applies to it.
    const r = await withEnv('apply', file('empty-c.yaml', '_format_version: "3.0"\n_comment: ${{ env "DECK_ROUTE" }}\n'), '--select-tag', 'team-c', '--allow-empty', '--yes')
    assert.equal(r.code, 1, r.stdout)
    assert.match(r.stderr, /gateway: routes\[\[masked\]\]: service: /)
    assert.doesNotMatch(r.stderr, /route-from-env/)
  })

  test('reset --yes posts an empty configuration', async () => {
    const r = await kctl('reset', '--yes', '--json')
    assert.equal(r.code, 0, r.stderr)
    assert.equal(JSON.parse(r.stdout).summary.deleted > 0, true)
    for (const kind of ['services', 'routes', 'consumers', 'keyauth_credentials']) assert.deepEqual((await get(`/${kind}`)).data, [], kind)
    assert.equal((await fetch(`${status}/status/ready`)).status, 200)
  })
  test('_transform: false stores an already-hashed basic-auth password as written; other files are still hashed', async () => {
    const aliceId = '4f1c1a54-0a4e-4bb6-9d3c-2b8f0d6a7e11'
    const hashed = createHash('sha1').update('alice-clear' + aliceId).digest('hex')
    const port = (upstream.address() as AddressInfo).port
    const raw = file('raw.yaml', `_format_version: "3.0"
_transform: false
services:
- name: guarded
  url: http://127.0.0.1:${port}
  routes:
  - name: guarded-r
    paths: [/guarded]
    plugins:
    - name: basic-auth
consumers:
- id: ${aliceId}
  username: alice
  basicauth_credentials:
  - username: alice
    password: ${hashed}
`)
    const clear = file('clear.yaml', '_format_version: "3.0"\nconsumers:\n- username: bob\n  basicauth_credentials:\n  - username: bob\n    password: bob-clear\n')
    const r = await kctl('apply', raw, clear, '--yes')
    assert.equal(r.code, 0, r.stderr)
    assert.equal((await get('/consumers/alice/basic-auth')).data[0].password, hashed)
    const basic = (user: string, pass: string) => fetch(`${proxy}/guarded`, {headers: {authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`}})
    assert.equal((await basic('alice', 'alice-clear')).status, 200)
    assert.equal((await basic('alice', hashed)).status, 401)
    assert.equal((await basic('bob', 'bob-clear')).status, 200)
    const again = await kctl('diff', raw, clear, '--non-zero-exit-code')
    assert.equal(again.code, 0, again.stdout + again.stderr)
  })
})
