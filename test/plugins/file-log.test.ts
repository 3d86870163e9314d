/**
 * file-log through the proxy: the entry of a proxied request, the file kept open
 * (reopen = false), and the requests the HTTP parser refuses, answered as nginx and Kong
 * answer them and logged by the global plugins only.
 */
import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {connect} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, test} from 'node:test'
import {until} from '../helpers/until.js'
import {route, service} from '../router/fixtures.js'
import {get, startProxy, startUpstream, type Cleanup} from '../proxy/helpers.js'
import {plugin} from './fixtures.js'

/** A directory for the test's log files, removed after it. */
function logDir(t: Cleanup): string {
  const dir = mkdtempSync(join(tmpdir(), 'kctl-file-log-'))
  t.after(() => rmSync(dir, {recursive: true, force: true}))
  return dir
}

/** The entries of `path` once there are `count`. */
async function entries(path: string, count: number): Promise<any[]> {
  const lines = await until(`${count} entries in ${path}`, () => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : []), {ok: (l) => l.length >= count})
  return lines.map((l) => JSON.parse(l))
}

/** Writes `head` on a connection of its own; the answer as read until the proxy closes it. */
function sendRaw(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(head))
    const chunks: Buffer[] = []
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', reject)
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')))
  })
}

async function setup(t: Cleanup, plugins: (ids: {route: string; service: string}) => any[]) {
  const up = await startUpstream(t, 'a')
  const s = service({url: `http://127.0.0.1:${up.port}`})
  const r = route({paths: ['/'], service: {id: s.id}})
  const {port} = await startProxy(t, {services: [s], routes: [r], plugins: plugins({route: r.id, service: s.id})} as any)
  return {port, route: r, service: s}
}

describe('plugins: file-log', () => {
  test("writes Kong's serialized request, one JSON line each, to the file it keeps open", async (t) => {
    const path = join(logDir(t), 'log')
    const {port, route: r, service: s} = await setup(t, (ids) => [plugin('file-log', {path}, {route: ids.route})])
    assert.equal((await get(port, '/one?a=1&a=2&flag', {headers: {authorization: 'Basic eDp5', 'x-a': 'b'}})).status, 200)
    assert.equal((await get(port, '/two', {method: 'POST', headers: {'content-length': '0'}})).status, 200)
    const [one, two] = await entries(path, 2)
    assert.equal(one.request.uri, '/one?a=1&a=2&flag')
    assert.equal(one.request.url, `http://127.0.0.1:${port}/one?a=1&a=2&flag`)
    assert.deepEqual(one.request.querystring, {a: ['1', '2'], flag: true})
    assert.equal(one.request.method, 'GET')
    assert.equal(one.request.headers.authorization, 'REDACTED')
    assert.equal(one.request.headers['x-a'], 'b')
    assert.match(one.request.id, /^[0-9a-f]{32}$/)
    assert.equal(one.upstream_uri, '/one?a=1&a=2&flag')
    assert.equal(one.upstream_status, '200')
    assert.equal(one.response.status, 200)
    assert.equal(one.response.headers['x-kong-request-id'], one.request.id)
    assert.ok(one.response.size > 0)
    assert.equal(one.route.id, r.id)
    assert.equal(one.service.id, s.id)
    assert.equal(one.tries.length, 1)
    assert.equal(one.tries[0].ip, '127.0.0.1')
    assert.equal(one.source, 'service')
    assert.equal(one.client_ip, '127.0.0.1')
    assert.ok(Math.abs(one.started_at - Date.now()) < 60_000)
    assert.equal(two.request.method, 'POST')
    assert.equal(two.upstream_uri, '/two')
  })

  test('a request no route matches is answered 404 and logged by the global plugins only', async (t) => {
    const dir = logDir(t)
    const global = join(dir, 'global')
    const scoped = join(dir, 'scoped')
    const up = await startUpstream(t, 'a')
    const s = service({url: `http://127.0.0.1:${up.port}`})
    const r = route({paths: ['/only'], service: {id: s.id}})
    const {port} = await startProxy(t, {services: [s], routes: [r], plugins: [plugin('file-log', {path: global}), plugin('file-log', {path: scoped}, {service: s.id})]} as any)
    assert.equal((await get(port, '/elsewhere?x=1', {headers: {'x-a': 'b'}})).status, 404)
    assert.equal((await get(port, '/only')).status, 200)
    // the service's file-log takes precedence over the global one for what its route serves (one instance per plugin name)
    const [only] = await entries(scoped, 1)
    assert.equal(only.request.uri, '/only')
    const [missed] = await entries(global, 1)
    assert.equal(readFileSync(global, 'utf8').trim().split('\n').length, 1)
    assert.equal(missed.response.status, 404)
    assert.equal(missed.request.method, 'GET')
    assert.equal(missed.request.uri, '/elsewhere?x=1')
    assert.equal(missed.request.headers['x-a'], 'b')
    assert.equal(missed.route, undefined)
    assert.equal(missed.service, undefined)
    assert.equal(only.route.id, r.id)
    assert.equal(readFileSync(scoped, 'utf8').trim().split('\n').length, 1, 'the service\'s plugin does not see the request no route matched')
  })

  test('a request line over nginx\'s 8k buffer is answered 414 and logged by the global plugins only', async (t) => {
    const dir = logDir(t)
    const global = join(dir, 'global')
    const scoped = join(dir, 'scoped')
    const {port} = await setup(t, (ids) => [plugin('file-log', {path: global}), plugin('file-log', {path: scoped, reopen: true}, {service: ids.service})])
    // within Node's 16 KiB head (refused by the proxy), then over it (refused by the parser)
    for (const size of [9 * 1024, 20 * 1024]) {
      const reply = await sendRaw(port, `POST /?foo=${'a'.repeat(size)} HTTP/1.1\r\nHost: x\r\nX-UUID: u\r\n\r\n`)
      assert.match(reply, /^HTTP\/1\.1 414 Request-URI Too Large\r\n/)
      assert.match(reply, /\r\nConnection: close\r\n/)
      assert.match(reply, /URI too long\nrequest_id: [0-9a-f]{32}\n$/)
    }
    const logged = await entries(global, 2)
    for (const entry of logged) {
      assert.equal(entry.response.status, 414)
      assert.equal(entry.request.method, 'POST')
      assert.equal(entry.upstream_uri, '')
      assert.deepEqual(entry.request.headers, {})
      assert.equal(entry.route, undefined)
      assert.equal(entry.service, undefined)
      assert.equal(entry.response.headers['content-type'], 'text/plain; charset=utf-8')
      assert.equal(entry.source, 'error')
      assert.equal(entry.request.url, `http://kong:${port}`)
    }
    assert.equal(existsSync(scoped), false, 'a plugin of the service does not see a request no route was looked for')
  })

  test('without a global plugin, a refused request gets the same answer and no plugin runs', async (t) => {
    const path = join(logDir(t), 'log')
    const {port} = await setup(t, (ids) => [plugin('file-log', {path}, {route: ids.route})])
    for (const size of [9 * 1024, 20 * 1024]) {
      const reply = await sendRaw(port, `GET /?foo=${'a'.repeat(size)} HTTP/1.1\r\nHost: x\r\n\r\n`)
      assert.match(reply, /^HTTP\/1\.1 414 Request-URI Too Large\r\n[^]*URI too long\nrequest_id: [0-9a-f]{32}\n$/)
    }
    const bad = await sendRaw(port, 'GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n')
    assert.match(bad, /^HTTP\/1\.1 400 Bad Request\r\n[^]*Bad request\nrequest_id: [0-9a-f]{32}\n$/)
    // a request the proxy serves after them is logged: the only entry
    assert.equal((await get(port, '/after')).status, 200)
    const [entry] = await entries(path, 1)
    assert.equal(entry.request.uri, '/after')
    assert.equal(readFileSync(path, 'utf8').trim().split('\n').length, 1)
  })

  test('a request the parser refuses otherwise is answered 400 and logged with its request line', async (t) => {
    const path = join(logDir(t), 'log')
    const {port} = await setup(t, () => [plugin('file-log', {path})])
    const reply = await sendRaw(port, 'GET /status/200?foo=bar HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n')
    assert.match(reply, /^HTTP\/1\.1 400 Bad Request\r\n/)
    assert.match(reply, /Bad request\nrequest_id: [0-9a-f]{32}\n$/)
    const [entry] = await entries(path, 1)
    assert.equal(entry.response.status, 400)
    assert.equal(entry.request.method, 'GET')
    assert.equal(entry.request.uri, '/status/200?foo=bar')
    assert.deepEqual(entry.request.querystring, {foo: 'bar'})
    assert.equal(entry.upstream_uri, '')
  })
})
