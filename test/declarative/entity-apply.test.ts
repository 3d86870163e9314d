/**
 * `kctl apply` against a gateway without `POST /kctl/sync` (Kong): a real node behind a
 * proxy that serves it as Kong does (helpers/kong-like.ts). The apply goes entity by
 * entity through the standard Admin API in foreign-key order, says it is not one
 * transaction, and leaves a gateway that `diff` finds equal to the files; a refusal in
 * the middle says what was applied and what was not.
 */
import {after, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {adminBed, type TestAdmin} from '../helpers/gateway.js'
import {makeCert} from '../helpers/certs.js'
import {kctlIn} from '../helpers/kctl.js'
import {startKongLike, type KongLike} from '../helpers/kong-like.js'

let admin: TestAdmin
let kong: KongLike
let dir: string

const kctl = (...args: string[]) => kctlIn(dir, ...args)

async function file(name: string, text: string): Promise<string> {
  const p = join(dir, name)
  await writeFile(p, text)
  return p
}

const v1 = `_format_version: "3.0"
services:
- name: orders
  url: http://orders.internal:8080/v1
  routes:
  - name: orders-route
    paths: [/orders]
    plugins:
    - name: cors
  plugins:
  - name: rate-limiting
    config: {minute: 10, policy: local}
- name: billing
  host: billing.internal
  routes:
  - name: billing-route
    paths: [/billing]
    plugins:
    - name: request-termination
      config: {status_code: 503}
consumers:
- username: alice
  keyauth_credentials:
  - key: alice-key
  basicauth_credentials:
  - username: alice
    password: alice-pw
  acls:
  - group: admins
  plugins:
  - name: rate-limiting
    config: {minute: 5, policy: local}
- username: carol
  keyauth_credentials:
  - key: carol-key
upstreams:
- name: orders.internal
  targets:
  - target: 10.0.0.1:8080
    weight: 100
  - target: 10.0.0.2:8080
- name: spare.internal
  targets:
  - target: 10.0.1.1:80
plugins:
- name: key-auth
`

// Updates (service, route, plugin config, target weight), a credential's new key, deletes with
// their children (consumer alice with her credentials and plugin, the billing route and
// its plugin, the spare upstream with its target), one create.
const v2 = `_format_version: "3.0"
services:
- name: orders
  url: http://orders.internal:8080/v2
  retries: 2
  routes:
  - name: orders-route
    paths: [/orders, /orders-v2]
    plugins:
    - name: cors
  plugins:
  - name: rate-limiting
    config: {minute: 20, policy: local}
- name: billing
  host: billing.internal
consumers:
- username: carol
  keyauth_credentials:
  - key: carol-key-2
- username: dave
  basicauth_credentials:
  - username: dave
    password: dave-pw
upstreams:
- name: orders.internal
  targets:
  - target: 10.0.0.1:8080
    weight: 50
  - target: 10.0.0.2:8080
plugins:
- name: key-auth
`

adminBed('kctl-entity-apply-', async (bed) => {
  ;({api: admin, dir} = bed)
  kong = await startKongLike(admin.url)
})
after(() => kong?.close())

const writes = () => kong.requests.filter((r) => !r.startsWith('GET '))

describe('apply entity by entity on a gateway without POST /kctl/sync', () => {
  it('creates everything parents first, says it is not one transaction, and diff then finds nothing to do', async () => {
    const f = await file('v1.yaml', v1)
    const r = await kctl('apply', f, '--admin-url', kong.url, '--json')
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout)
    assert.equal(out.applied, true)
    assert.equal(out.transactional, false)
    assert.deepEqual(out.summary, {created: 20, updated: 0, deleted: 0})
    assert.match(r.stderr, new RegExp(`The gateway at ${kong.url} has no transactional apply .*not one transaction: if one fails, those before it stay applied`))
    assert.ok(!kong.requests.some((q) => q.includes('/kctl/sync')), 'asked POST /kctl/sync')
    // Parents before children: each write names only entities written before it.
    const order = writes().map((w) => w.split(' ')[1].split('/')[1])
    assert.ok(order.indexOf('services') < order.indexOf('routes'), order.join(' '))
    assert.ok(order.indexOf('routes') < order.indexOf('plugins'), order.join(' '))
    assert.ok(order.lastIndexOf('consumers') < order.indexOf('key-auths'), order.join(' '))
    assert.ok(writes().some((w) => /^POST \/upstreams\/[0-9a-f-]{36}\/targets$/.test(w)), writes().join('\n'))

    const diff = await kctl('diff', f, '--admin-url', kong.url, '--non-zero-exit-code')
    assert.equal(diff.code, 0, diff.stdout + diff.stderr)
    assert.match(diff.stdout, /Created: 0 {2}Updated: 0 {2}Deleted: 0/)
    assert.equal((await admin.call('GET', '/services/orders')).body.path, '/v1')
    assert.match((await admin.call('GET', '/basic-auths/alice')).body.password, /^[0-9a-f]{40}$/, 'password stored hashed')
  })

  it('updates and deletes (children first, consumers with their credentials) reach the files exactly', async () => {
    const before = writes().length
    const f = await file('v2.yaml', v2)
    const r = await kctl('apply', f, '--admin-url', kong.url, '--yes')
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /not one transaction/)
    assert.match(r.stdout, /Created: 3 {2}Updated: 4 {2}Deleted: 10/)
    const done = writes().slice(before)
    const deletes = done.filter((w) => w.startsWith('DELETE '))
    const at = (re: RegExp) => deletes.findIndex((w) => re.test(w))
    assert.ok(at(/ \/key-auths\//) < at(/ \/consumers\//) && at(/ \/plugins\//) < at(/ \/consumers\//), deletes.join('\n'))
    assert.ok(at(/ \/plugins\//) < at(/ \/routes\//) && at(/\/targets\//) < at(/^DELETE \/upstreams\/[0-9a-f-]+$/), deletes.join('\n'))
    assert.ok(done.lastIndexOf(deletes.at(-1)!) < done.findIndex((w) => !w.startsWith('DELETE ')), 'deletes come first')

    const diff = await kctl('diff', f, '--admin-url', kong.url, '--non-zero-exit-code')
    assert.equal(diff.code, 0, diff.stdout + diff.stderr)
    const dump = await kctl('dump', '--admin-url', kong.url, '--format', 'json')
    assert.equal(dump.code, 0, dump.stderr)
    const d = JSON.parse(dump.stdout)
    const orders = d.services.find((s: any) => s.name === 'orders')
    assert.equal(orders.path, '/v2')
    assert.equal(orders.retries, 2)
    assert.deepEqual(orders.routes.map((x: any) => [x.name, x.paths]), [['orders-route', ['/orders', '/orders-v2']]])
    assert.equal(orders.plugins[0].config.minute, 20)
    assert.deepEqual(d.services.find((s: any) => s.name === 'billing').routes ?? [], [])
    assert.deepEqual(d.consumers.map((c: any) => c.username).sort(), ['carol', 'dave'])
    assert.deepEqual(d.consumers.find((c: any) => c.username === 'carol').keyauth_credentials.map((k: any) => k.key), ['carol-key-2'])
    assert.deepEqual(d.upstreams.map((u: any) => u.name), ['orders.internal'])
    assert.deepEqual(d.upstreams[0].targets.map((t: any) => [t.target, t.weight]).sort(), [['10.0.0.1:8080', 50], ['10.0.0.2:8080', 100]])
    assert.deepEqual(d.plugins.map((p: any) => p.name), ['key-auth'])
    // Nothing of alice is left anywhere, nor the spare upstream's target.
    for (const path of ['/key-auths', '/basic-auths', '/acls']) {
      const left = (await admin.call('GET', path)).body.data.map((x: any) => x.key ?? x.username ?? x.group)
      assert.ok(!left.includes('alice-key') && !left.includes('alice') && !left.includes('admins'), `${path}: ${left}`)
    }
    assert.equal((await admin.call('GET', '/plugins')).body.data.length, 3)
    assert.equal((await admin.call('GET', '/targets')).body.data.length, 2)
  })

  it('a refusal in the middle: exit 1, what was applied and what was not, in text and --json', async () => {
    // bob exists without the tag: the apply, managing only tagged entities, does not see
    // him, so creating its own bob is refused by the gateway after the service went in.
    assert.equal((await admin.call('POST', '/consumers', {username: 'bob'})).status, 201)
    const f = await file('tagged.yaml', `_format_version: "3.0"
_info: {select_tags: [team-b]}
services:
- name: team-b-svc
  host: b.internal
  routes:
  - name: team-b-route
    paths: [/b]
consumers:
- username: bob
  keyauth_credentials:
  - key: bob-key
`)
    const r = await kctl('apply', f, '--admin-url', kong.url, '--json')
    assert.equal(r.code, 1, r.stderr)
    const err = JSON.parse(r.stdout).error
    assert.equal(err.code, 'APPLY_INCOMPLETE')
    assert.match(err.message, /^The apply stopped at creating consumer bob: the gateway refused it: PUT \/consumers\/[0-9a-f-]{36}: 409 UNIQUE violation detected on '\{username="bob"\}'\.\nApplied \(2\):\n {2}creating service team-b-svc\n {2}creating route team-b-route\nFailed \(1\):\n {2}creating consumer bob\nNot applied \(1\):\n {2}creating keyauth_credential bob-key$/)
    assert.match(err.hint, /not one transaction\), so those applied stay\. Fix the cause, then run the command again/)
    assert.deepEqual(
      {applied: err.details.applied.map((c: any) => c.name), failed: [err.details.failed.name, err.details.failed.outcome], not_applied: err.details.not_applied.map((c: any) => c.name), transactional: err.details.transactional},
      {applied: ['creating service team-b-svc', 'creating route team-b-route'], failed: ['creating consumer bob', 'failed'], not_applied: ['creating keyauth_credential bob-key'], transactional: false},
    )
    assert.equal((await admin.call('GET', '/services/team-b-svc')).status, 200, 'what was applied stays')
    assert.equal((await admin.call('GET', '/key-auths/bob-key')).status, 404)
    // Again, without --json: the service and route are there now, so bob fails first.
    const text = await kctl('apply', f, '--admin-url', kong.url)
    assert.equal(text.code, 1)
    assert.match(text.stderr, /Error: The apply stopped at creating consumer bob: .*409.*\nFailed \(1\):\n {2}creating consumer bob\nNot applied \(1\):\n {2}creating keyauth_credential bob-key\nNext: .*so nothing was applied\./)
  })

  it('a certificate updated entity by entity keeps its SNIs (Kong drops them on a PUT without snis)', async () => {
    const {cert: certPem, key: keyPem} = await makeCert('shop.test')
    const block = (pem: string) => pem.trim().split('\n').map((l) => `      ${l}`).join('\n')
    const cert = (tag: string) => `_format_version: "3.0"\ncertificates:\n- id: 6f0d4c63-3c43-4f3e-9d33-6b0d7c1f2a10\n  tags: [${tag}]\n  cert: |\n${block(certPem)}\n  key: |\n${block(keyPem)}\n  snis:\n  - name: shop.test\n`
    let r = await kctl('apply', await file('cert-a.yaml', cert('a')), '--admin-url', kong.url, '--yes')
    assert.equal(r.code, 0, r.stderr)
    const f = await file('cert-b.yaml', cert('b'))
    r = await kctl('apply', f, '--admin-url', kong.url, '--yes')
    assert.equal(r.code, 0, r.stderr)
    assert.equal((await admin.call('GET', '/snis/shop.test')).status, 200, 'the SNI is still there')
    assert.deepEqual((await admin.call('GET', '/certificates/6f0d4c63-3c43-4f3e-9d33-6b0d7c1f2a10')).body.snis, ['shop.test'])
    const diff = await kctl('diff', f, '--admin-url', kong.url, '--non-zero-exit-code')
    assert.equal(diff.code, 0, diff.stdout + diff.stderr)
  })

  it('reset goes entity by entity too, children first, and leaves nothing', async () => {
    const r = await kctl('reset', '--yes', '--admin-url', kong.url, '--json')
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout)
    assert.equal(out.transactional, false)
    assert.match(r.stderr, /not one transaction/)
    const dump = JSON.parse((await kctl('dump', '--admin-url', kong.url, '--format', 'json')).stdout)
    assert.deepEqual(Object.keys(dump).filter((k) => !k.startsWith('_')), [])
  })
})

describe('the same files on a kctl node', () => {
  it('go through POST /kctl/sync in one transaction (transactional: true)', async () => {
    const r = await kctl('apply', await file('v1-direct.yaml', v1), '--admin-url', admin.url, '--json')
    assert.equal(r.code, 0, r.stderr)
    assert.equal(JSON.parse(r.stdout).transactional, true)
    assert.doesNotMatch(r.stderr, /not one transaction/)
  })
})
