import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {createLogger} from '../../src/runtime/kit/log.js'
import {route, service} from '../router/fixtures.js'
import {get, startProxy, startUpstream} from '../proxy/helpers.js'
import {consumer, keyCred, plugin} from './fixtures.js'

describe('plugins: framework', () => {
  test("most specific instance wins, in Kong's order: route+consumer > route+service > consumer > route > service > global", async (t) => {
    const up = await startUpstream(t, 'a')
    const s = service({url: `http://127.0.0.1:${up.port}`})
    const r1 = route({paths: ['/r1'], service: {id: s.id}})
    const r2 = route({paths: ['/r2'], service: {id: s.id}})
    const r3 = route({paths: ['/r3'], service: {id: s.id}})
    const alice = consumer('alice')
    const bob = consumer('bob')
    const term = (code: number, scope: Parameters<typeof plugin>[2]) => plugin('request-termination', {status_code: code, message: `from ${code}`}, scope)
    const s2 = service({url: `http://127.0.0.1:${up.port}`})
    const r4 = route({paths: ['/r4'], service: {id: s2.id}})
    const {port} = await startProxy(t, {
      services: [s, s2],
      routes: [r1, r2, r3, r4],
      consumers: [alice, bob],
      keyauth_credentials: [keyCred(alice, 'k-alice'), keyCred(bob, 'k-bob')],
      plugins: [
        plugin('key-auth', {anonymous: null}, {}),
        term(418, {}),
        term(410, {service: s.id}),
        term(409, {route: r1.id}),
        term(451, {route: r1.id, consumer: alice.id}),
        term(402, {route: r2.id, service: s.id}),
        term(406, {consumer: bob.id}),
      ],
    } as any)
    const h = {apikey: 'k-alice'}
    assert.equal((await get(port, '/r1', {headers: h})).status, 451)
    assert.equal((await get(port, '/r2', {headers: h})).status, 402)
    assert.equal((await get(port, '/r3', {headers: h})).status, 410)
    assert.equal((await get(port, '/r4', {headers: h})).status, 418)
    // A consumer-only instance beats route, service and global ones, not route+service.
    const b = {apikey: 'k-bob'}
    assert.deepEqual(
      await Promise.all(['/r1', '/r2', '/r3', '/r4'].map(async (p) => (await get(port, p, {headers: b})).status)),
      [406, 402, 406, 406],
    )
    const r = await get(port, '/r1', {headers: h})
    // request-termination answers as Kong's `kong.response.exit(status, {message = …})`: no request_id
    assert.deepEqual(Object.keys(r.json()), ['message'])
    assert.equal(r.json().message, 'from 451')
    assert.equal(up.hits(), 0)
  })

  test('runs in descending priority: key-auth (1250) answers before request-termination (2)', async (t) => {
    const up = await startUpstream(t, 'a')
    const s = service({url: `http://127.0.0.1:${up.port}`})
    const {port} = await startProxy(t, {
      services: [s],
      routes: [route({paths: ['/'], service: {id: s.id}})],
      plugins: [plugin('request-termination', {status_code: 503}), plugin('key-auth')],
    })
    const r = await get(port, '/')
    assert.equal(r.status, 401)
    assert.equal(r.json().message, 'No API key found in request')
  })

  test('disabled instances and other protocols do not run', async (t) => {
    const up = await startUpstream(t, 'a')
    const s = service({url: `http://127.0.0.1:${up.port}`})
    const {port} = await startProxy(t, {
      services: [s],
      routes: [route({paths: ['/'], service: {id: s.id}})],
      plugins: [plugin('key-auth', {}, {enabled: false}), plugin('request-termination', {}, {protocols: ['https']})],
    })
    assert.equal((await get(port, '/')).status, 200)
  })

  test('a plugin that throws answers 500 with the generic body and a log line naming it; the proxy keeps serving', async (t) => {
    const up = await startUpstream(t, 'a')
    const s = service({url: `http://127.0.0.1:${up.port}`})
    const broken = route({paths: ['/broken'], service: {id: s.id}})
    const ok = route({paths: ['/ok'], service: {id: s.id}})
    // key-auth with an anonymous consumer that does not exist fails at run time.
    const lines: string[] = []
    const {port} = await startProxy(t, {
      services: [s],
      routes: [broken, ok],
      plugins: [plugin('key-auth', {anonymous: 'ghost'}, {route: broken.id})],
    }, {log: createLogger({level: 'notice', write: (l) => lines.push(l)})})
    const r = await get(port, '/broken')
    assert.equal(r.status, 500)
    assert.equal(r.json().message, 'An unexpected error occurred')
    assert.match(r.json().request_id, /^[0-9a-f]{32}$/)
    const failed = lines.filter((l) => l.includes('[error] plugin key-auth failed in access: '))
    assert.equal(failed.length, 1, lines.join('\n'))
    assert.ok(failed[0].includes("anonymous consumer ghost is configured but doesn't exist"), failed[0])
    assert.ok(failed[0].includes(`plugin=key-auth`), failed[0])
    assert.ok(failed[0].includes(`request_id=${r.json().request_id}`), failed[0])
    assert.equal((await get(port, '/ok')).status, 200)
    assert.equal((await get(port, '/broken')).status, 500)
  })
})
