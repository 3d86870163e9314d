/**
 * The declarative commands against a cluster made by `kctl init` (embedded): with
 * neither --admin-url nor KCTL_ADMIN_URL they talk to the node of ./kctl.yaml, and a
 * `_transform: false` file's already-hashed basic-auth password goes through
 * `/kctl/sync` as written, so the clear password authenticates at the proxy.
 */
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {writeFile} from 'node:fs/promises'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {type Sandbox} from '../helpers/kctl.js'
import {startCluster} from '../helpers/nodes.js'
import {until} from '../helpers/until.js'

let sb: Sandbox
let upstream: Server
let admin: string

before(async () => {
  upstream = createServer((_req, res) => res.end('upstream'))
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
  sb = (await startCluster({name: 'decl'})).sandbox
  admin = `http://127.0.0.1:${sb.ports.admin}`
})
after(async () => {
  await sb?.cleanup()
  upstream?.close()
})

const ALICE = '4f1c1a54-0a4e-4bb6-9d3c-2b8f0d6a7e11'
/** Kong's basic-auth hash: SHA-1 of the password followed by the consumer id, in hex. */
const HASHED = createHash('sha1').update('alice-clear' + ALICE).digest('hex')

const rawFile = (port: number) => `_format_version: "3.0"
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
- id: ${ALICE}
  username: alice
  basicauth_credentials:
  - username: alice
    password: ${HASHED}
`
const clearFile = '_format_version: "3.0"\nconsumers:\n- username: bob\n  basicauth_credentials:\n  - username: bob\n    password: bob-clear\n'

const basic = (user: string, pass: string) =>
  fetch(`http://127.0.0.1:${sb.ports.proxy}/guarded`, {headers: {authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`}})

describe('declarative commands on an embedded cluster', () => {
  it('without --admin-url or KCTL_ADMIN_URL, diff and apply use the node of ./kctl.yaml', async () => {
    const f = join(sb.cwd, 'one.yaml')
    await writeFile(f, '_format_version: "3.0"\nservices:\n- name: from-spec\n  host: s.example\n')
    const d = await sb.kctl('diff', f, '--non-zero-exit-code')
    assert.equal(d.code, 2, d.stdout + d.stderr)
    assert.match(d.stdout, /^creating service from-spec$/m)
    const a = await sb.kctl('apply', f, '--yes')
    assert.equal(a.code, 0, a.stderr)
    assert.equal((await fetch(`${admin}/services/from-spec`)).status, 200)
  })

  it('_transform: false: an already-hashed password is stored as written and the clear one authenticates; other files are hashed', async () => {
    const raw = join(sb.cwd, 'raw.yaml')
    const clear = join(sb.cwd, 'clear.yaml')
    await writeFile(raw, rawFile((upstream.address() as AddressInfo).port))
    await writeFile(clear, clearFile)
    const r = await sb.kctl('apply', raw, clear, '--yes')
    assert.equal(r.code, 0, r.stderr)
    const stored = (await (await fetch(`${admin}/consumers/alice/basic-auth`)).json()) as any
    assert.equal(stored.data[0].password, HASHED)
    // The proxy rebuilds from the database notification: wait for it.
    await until('the proxy to accept alice\'s clear password', async () => (await basic('alice', 'alice-clear')).status, {ok: (s) => s === 200})
    assert.equal((await basic('alice', HASHED)).status, 401)
    assert.equal((await basic('bob', 'bob-clear')).status, 200)
    // Re-applying is a no-op: the hash compares as written, the clear password as stored.
    const again = await sb.kctl('diff', raw, clear, '--non-zero-exit-code')
    assert.equal(again.code, 0, again.stdout + again.stderr)
  })
})
