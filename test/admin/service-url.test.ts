/**
 * A service's `url` sets protocol, host, port and path. Given together with any of them,
 * one would silently replace the other (the `path` dropped), so the Admin API
 * (POST/PUT/PATCH) and declarative files refuse it, naming the fields. `url` alone, and
 * a PATCH of `url` alone, still replace all four fields as Kong does.
 */
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {startTestAdmin, type TestAdmin} from '../helpers/gateway.js'
import {runKctl} from '../helpers/kctl.js'
import {startTestPostgres, type TestPostgres} from '../helpers/postgres.js'

let pg: TestPostgres
let api: TestAdmin
let dir: string

const CLASH = (names: string) => `cannot set 'url' with ${names} simultaneously: the url sets protocol, host, port and path; give them in the url, or without 'url'`

before(async () => {
  pg = await startTestPostgres()
  api = await startTestAdmin(pg)
  dir = await mkdtemp(join(tmpdir(), 'kctl-service-url-'))
})
after(async () => {
  await api?.close()
  await pg?.stop()
  await rm(dir, {recursive: true, force: true})
})

describe('service url with protocol, host, port or path', () => {
  test('POST and PUT refuse url with path (and the other fields), with Kong\'s schema violation envelope; nothing is stored', async () => {
    const post = await api.call('POST', '/services', {name: 's1', url: 'http://example.com', path: '/api'})
    assert.equal(post.status, 400)
    assert.deepEqual(post.body, {code: 2, name: 'schema violation', message: `schema violation (url: ${CLASH("'path'")})`, fields: {url: CLASH("'path'")}})
    const put = await api.call('PUT', '/services/s1', {url: 'https://example.com/v1', host: 'other.example', port: 8443, path: '/v2'})
    assert.equal(put.status, 400)
    assert.equal(put.body.fields.url, CLASH("'host', 'port' or 'path'"))
    const form = await api.form('POST', '/services', 'name=s1&url=http://example.com&path=/api')
    assert.equal(form.status, 400)
    assert.equal(form.body.fields.url, CLASH("'path'"))
    assert.equal((await api.call('GET', '/services/s1')).status, 404)
  })

  test('url alone, or with the other fields null, is accepted; PATCH of url alone replaces all four fields as Kong does', async () => {
    const ok = await api.call('POST', '/services', {name: 's2', url: 'http://example.com:8080/api', path: null})
    assert.equal(ok.status, 201, JSON.stringify(ok.body))
    assert.deepEqual([ok.body.protocol, ok.body.host, ok.body.port, ok.body.path], ['http', 'example.com', 8080, '/api'])
    const patched = await api.call('PATCH', '/services/s2', {url: 'https://example.org'})
    assert.equal(patched.status, 200, JSON.stringify(patched.body))
    assert.deepEqual([patched.body.protocol, patched.body.host, patched.body.port, patched.body.path], ['https', 'example.org', 443, null])
    const clash = await api.call('PATCH', '/services/s2', {url: 'https://example.org', path: '/kept'})
    assert.equal(clash.status, 400)
    assert.equal(clash.body.fields.url, CLASH("'path'"))
    assert.equal((await api.call('GET', '/services/s2')).body.path, null, 'the refused PATCH changed the service')
    // Other fields still patch as before.
    assert.equal((await api.call('PATCH', '/services/s2', {path: '/p'})).body.path, '/p')
  })

  test('a declarative file with url and path is invalid, located in the file; apply changes nothing', async () => {
    const f = join(dir, 'kong.yaml')
    await writeFile(f, '_format_version: "3.0"\nservices:\n- name: s3\n  url: http://example.com\n  path: /api\n')
    const kctl = (...args: string[]) => runKctl(args, {cwd: dir, env: {KCTL_DATA_DIR: join(dir, 'data')}})
    const v = await kctl('validate', f)
    assert.equal(v.code, 1, v.stdout + v.stderr)
    assert.ok(v.stderr.includes(`kong.yaml:4: services[0]: url: ${CLASH("'path'")}`), v.stderr)
    assert.doesNotMatch(v.stderr, /required field missing/)
    const a = await kctl('apply', f, '--admin-url', api.url)
    assert.equal(a.code, 1)
    assert.ok(a.stderr.includes(CLASH("'path'")), a.stderr)
    assert.equal((await api.call('GET', '/services/s3')).status, 404)
  })
})
