/**
 * The declarative engine's remaining behaviours on a real Admin API over real Postgres:
 * --select-tag, credentials nested in consumers, a bad plugin config, config defaults of
 * a plugin written without `config`, nested dumps, and the conflict check that refuses an
 * apply when the gateway changed after the diff.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {parse} from 'yaml'
import {fetchState, postSync} from '../../src/declarative/admin-client.js'
import {planSync} from '../../src/declarative/plan.js'
import {apply} from '../../src/services/apply.js'
import {changesJson} from '../../src/services/declarative.js'
import {dump} from '../../src/services/dump.js'
import {adminBed} from '../helpers/gateway.js'

const bed = adminBed('kctl-engine-')

async function file(name: string, text: string): Promise<string> {
  const p = join(bed.dir, name)
  await writeFile(p, text)
  return p
}
const run = async (f: string, selectTags: string[] = [], allowEmpty = false) => (await apply({files: [f], adminUrl: bed.api.url, stateRoot: bed.dir, yes: true, selectTags, allowEmpty})).result.summary
const names = async (kind: string) => (await bed.api.call('GET', `/${kind}`)).body.data.map((e: any) => e.name ?? e.username).sort()

const nested = `_format_version: "3.0"
services:
- name: svc
  url: http://127.0.0.1:9
  routes:
  - name: r
    paths: [/r]
    plugins:
    - name: key-auth
  plugins:
  - name: correlation-id
consumers:
- username: alice
  keyauth_credentials:
  - key: alice-key
  basicauth_credentials:
  - username: alice
    password: pw
  acls:
  - group: admins
`

describe('declarative engine', () => {
  it('credentials nest in consumers; a plugin without config gets its defaults; the dump nests like decK and applies back as a no-op', async () => {
    assert.deepEqual(await run(await file('nested.yaml', nested)), {created: 8, updated: 0, deleted: 0})
    assert.equal((await bed.api.call('GET', '/consumers/alice/key-auth')).body.data[0].key, 'alice-key')
    assert.equal((await bed.api.call('GET', '/consumers/alice/acls')).body.data[0].group, 'admins')
    const cid = (await bed.api.call('GET', '/plugins')).body.data.find((p: any) => p.name === 'correlation-id')
    assert.equal(cid.config.header_name, 'Kong-Request-ID', 'config defaults not filled')
    const out = join(bed.dir, 'dump.yaml')
    await dump({adminUrl: bed.api.url, stateRoot: bed.dir, format: 'yaml', output: out})
    const d = parse(await readFile(out, 'utf8'))
    assert.equal(d.routes, undefined, 'routes should nest under their service')
    assert.equal(d.services[0].routes[0].name, 'r')
    assert.equal(d.services[0].routes[0].service, undefined)
    assert.equal(d.services[0].routes[0].plugins[0].name, 'key-auth')
    assert.equal(d.services[0].plugins[0].name, 'correlation-id')
    assert.equal(d.plugins, undefined)
    assert.equal(d.consumers[0].keyauth_credentials[0].key, 'alice-key')
    assert.equal(d.consumers[0].acls[0].group, 'admins')
    assert.equal(d.keyauth_credentials, undefined)
    assert.deepEqual(await run(out), {created: 0, updated: 0, deleted: 0})
  })

  it('a basic-auth password in clear re-applies as a no-op (stored hashed) and a changed one is an update that shows no clear text', async () => {
    const f = await file('basic.yaml', '_format_version: "3.0"\nconsumers:\n- username: bob\n  basicauth_credentials:\n  - username: bob\n    password: s3cret\n')
    assert.deepEqual(await run(f, ['basic']), {created: 2, updated: 0, deleted: 0})
    assert.notEqual((await bed.api.call('GET', '/consumers/bob/basic-auth')).body.data[0].password, 's3cret')
    assert.equal((await planSync(bed.api.url, [f], ['basic'])).events.length, 0)
    const changed = await file('basic-2.yaml', '_format_version: "3.0"\nconsumers:\n- username: bob\n  basicauth_credentials:\n  - username: bob\n    password: n3w\n')
    const plan = await planSync(bed.api.url, [changed], ['basic'])
    assert.deepEqual(plan.summary, {created: 0, updated: 1, deleted: 0})
    assert.equal(plan.events[0].kind, 'basicauth_credentials')
    assert.doesNotMatch(JSON.stringify(changesJson(plan.events, [plan.target.state, plan.current])), /n3w/)
    assert.deepEqual(await run(changed, ['basic']), {created: 0, updated: 1, deleted: 0})
    assert.deepEqual(await run(changed, ['basic']), {created: 0, updated: 0, deleted: 0})
    assert.deepEqual(await run(await file('basic-none.yaml', '_format_version: "3.0"\n'), ['basic'], true), {created: 0, updated: 0, deleted: 2})
  })

  it("a key-auth ttl counting down on the gateway re-applies as a no-op; a shorter one in the file is an update", async () => {
    const yaml = (ttl: number) => `_format_version: "3.0"\nconsumers:\n- username: ttl-c\n  keyauth_credentials:\n  - key: ttl-k\n    ttl: ${ttl}\n`
    const f = await file('ttl.yaml', yaml(3600))
    assert.deepEqual(await run(f, ['ttl']), {created: 2, updated: 0, deleted: 0})
    // the Admin API now shows fewer seconds left than the file's 3600
    await new Promise((r) => setTimeout(r, 1100))
    assert.ok((await bed.api.call('GET', '/key-auths/ttl-k')).body.ttl < 3600)
    assert.deepEqual(await run(f, ['ttl']), {created: 0, updated: 0, deleted: 0})
    const shorter = await file('ttl-2.yaml', yaml(60))
    assert.deepEqual(await run(shorter, ['ttl']), {created: 0, updated: 1, deleted: 0})
    const left = (await bed.api.call('GET', '/key-auths/ttl-k')).body.ttl
    assert.ok(left === 59 || left === 60, `ttl ${left}`)
    assert.deepEqual(await run(shorter, ['ttl']), {created: 0, updated: 0, deleted: 0})
    assert.deepEqual(await run(await file('ttl-none.yaml', '_format_version: "3.0"\n'), ['ttl'], true), {created: 0, updated: 0, deleted: 2})
  })

  it('a bad plugin config is an invalid file: exit with the field located, nothing changes', async () => {
    const before = await fetchState(bed.api.url)
    const bad = await file('bad-plugin.yaml', nested.replace('  - name: correlation-id\n', '  - name: rate-limiting\n    config: {minute: lots, nope: 1}\n'))
    await assert.rejects(run(bad), (err: Error) => {
      assert.match(err.message, /bad-plugin\.yaml:\d+: services\[0\]\.plugins\[0\]: config\.minute: expected a number/)
      assert.match(err.message, /config\.nope: unknown field/)
      return true
    })
    assert.deepEqual(await fetchState(bed.api.url), before)
  })

  it('--select-tag manages only tagged entities, tags what it creates, and leaves the rest alone', async () => {
    const tagged = await file('team-a.yaml', '_format_version: "3.0"\nservices:\n- name: a1\n  host: a1.example\n- name: a2\n  host: a2.example\n')
    assert.deepEqual(await run(tagged, ['team-a']), {created: 2, updated: 0, deleted: 0})
    assert.deepEqual((await bed.api.call('GET', '/services/a1')).body.tags, ['team-a'])
    const fewer = await file('team-a-fewer.yaml', '_format_version: "3.0"\n_info:\n  select_tags: [team-a]\nservices:\n- name: a1\n  host: a1.example\n')
    assert.deepEqual(await run(fewer), {created: 0, updated: 0, deleted: 1})
    assert.deepEqual(await names('services'), ['a1', 'svc'], 'an untagged service was touched')
    const plan = await planSync(bed.api.url, [fewer])
    assert.equal(plan.events.length, 0)
    const d = join(bed.dir, 'dump-a.yaml')
    await dump({adminUrl: bed.api.url, stateRoot: bed.dir, format: 'yaml', output: d, selectTags: ['team-a']})
    const dumped = parse(await readFile(d, 'utf8'))
    assert.deepEqual(dumped._info, {select_tags: ['team-a']})
    assert.deepEqual(dumped.services.map((s: any) => s.name), ['a1'])
  })

  it('an entity changed between diff and apply fails the whole apply with a conflict, nothing applied', async () => {
    const f = await file('conflict.yaml', nested.replace('name: svc\n', 'name: svc\n  retries: 2\n').replace('- name: r\n', '- name: r\n    strip_path: false\n'))
    const plan = await planSync(bed.api.url, [f])
    assert.ok(plan.events.some((e) => e.kind === 'routes' && e.op === 'update'), JSON.stringify(plan.summary))
    // Someone edits the route after the diff was computed.
    assert.equal((await bed.api.call('PATCH', '/routes/r', {paths: ['/edited']})).status, 200)
    await assert.rejects(postSync(bed.api.url, plan.events), (err: any) => {
      assert.equal(err.status, 409)
      assert.equal(err.body.code, 15)
      assert.match(err.body.message, /routes entity '.*' changed since the diff was computed; nothing was applied/)
      return true
    })
    assert.equal((await bed.api.call('GET', '/services/svc')).body.retries, 5, 'part of a conflicting apply was written')
    assert.deepEqual((await bed.api.call('GET', '/routes/r')).body.paths, ['/edited'])
    // A fresh diff sees the edit and applies.
    assert.ok((await run(f)).updated >= 2)
    assert.equal((await bed.api.call('GET', '/services/svc')).body.retries, 2)
  })
})
