import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {route, service} from '../router/fixtures.js'
import {get, startProxy, startUpstream, type Echo} from '../proxy/helpers.js'
import {acl, basicCred, consumer, keyCred, plugin} from './fixtures.js'

async function setup(t: any, plugins: any[], extra: Record<string, unknown[]> = {}) {
  const up = await startUpstream(t, 'a')
  const s = service({url: `http://127.0.0.1:${up.port}`})
  const r = route({paths: ['/'], service: {id: s.id}})
  const {port} = await startProxy(t, {services: [s], routes: [r], plugins: plugins.map((p) => p(r.id, s.id)), ...extra} as any)
  return {port, up}
}

describe('plugins: key-auth', () => {
  const alice = consumer('alice')
  const creds = {consumers: [alice], keyauth_credentials: [keyCred(alice, 'secret-1')]}

  test('401 without a key or with a wrong one, with WWW-Authenticate', async (t) => {
    const {port, up} = await setup(t, [() => plugin('key-auth')], creds)
    const none = await get(port, '/')
    assert.equal(none.status, 401)
    assert.equal(none.json().message, 'No API key found in request')
    assert.equal(none.headers['www-authenticate'], 'Key')
    const bad = await get(port, '/', {headers: {apikey: 'nope'}})
    assert.equal(bad.status, 401)
    assert.equal(bad.json().message, 'Unauthorized')
    assert.equal(up.hits(), 0)
  })

  test("a key past its ttl no longer authenticates; one within it does", async (t) => {
    const now = Math.floor(Date.now() / 1000)
    const expiring = {consumers: [alice], keyauth_credentials: [{...keyCred(alice, 'old-key'), created_at: now - 120, ttl: 60}, {...keyCred(alice, 'fresh-key'), created_at: now - 10, ttl: 3600}]}
    const {port, up} = await setup(t, [() => plugin('key-auth')], expiring)
    const old = await get(port, '/', {headers: {apikey: 'old-key'}})
    assert.deepEqual([old.status, old.json().message], [401, 'Unauthorized'])
    assert.equal((await get(port, '/', {headers: {apikey: 'fresh-key'}})).status, 200)
    assert.equal(up.hits(), 1)
  })

  test('key in header or query; consumer headers upstream; hide_credentials strips it', async (t) => {
    const {port} = await setup(t, [() => plugin('key-auth', {hide_credentials: true})], creds)
    const h: Echo = (await get(port, '/x', {headers: {apikey: 'secret-1'}})).json()
    assert.equal(h.headers['x-consumer-id'], alice.id)
    assert.equal(h.headers['x-consumer-username'], 'alice')
    assert.equal(h.headers.apikey, undefined)
    const q = await get(port, '/x?a=1&apikey=secret-1')
    assert.equal(q.status, 200)
    assert.equal(q.json().url, '/x?a=1')
  })

  test('key in a JSON or form body when key_in_body', async (t) => {
    const {port} = await setup(t, [() => plugin('key-auth', {key_in_body: true, key_names: ['token']})], creds)
    const j = await get(port, '/', {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({token: 'secret-1', x: 1})})
    assert.equal(j.status, 200)
    assert.equal(JSON.parse(j.json().body).x, 1)
    const f = await get(port, '/', {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'}, body: 'token=secret-1'})
    assert.equal(f.status, 200)
  })

  test('anonymous consumer when authentication fails', async (t) => {
    const anon = consumer('anon')
    const {port} = await setup(t, [() => plugin('key-auth', {anonymous: 'anon'})], {...creds, consumers: [alice, anon]})
    const r: Echo = (await get(port, '/')).json()
    assert.equal(r.headers['x-consumer-id'], anon.id)
    assert.equal(r.headers['x-anonymous-consumer'], 'true')
  })
})

describe('plugins: basic-auth', () => {
  const bob = consumer('bob')
  const creds = {consumers: [bob], basicauth_credentials: [basicCred(bob, 'bob', 'pa:ss')]}
  const auth = (u: string, p: string) => ({authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`})

  test('401 Unauthorized without credentials, 401 invalid with a wrong password, 200 with the right one', async (t) => {
    const {port} = await setup(t, [() => plugin('basic-auth', {hide_credentials: true})], creds)
    const none = await get(port, '/')
    assert.equal(none.status, 401)
    assert.equal(none.json().message, 'Unauthorized')
    assert.equal(none.headers['www-authenticate'], 'Basic realm="service"')
    assert.equal((await get(port, '/', {headers: auth('bob', 'wrong')})).json().message, 'Unauthorized')
    const ok = await get(port, '/', {headers: auth('bob', 'pa:ss')})
    assert.equal(ok.status, 200)
    assert.equal(ok.json().headers.authorization, undefined)
    assert.equal(ok.json().headers['x-credential-identifier'], 'bob')
  })
})

describe('plugins: acl', () => {
  const alice = consumer('alice')
  const bob = consumer('bob')
  const data = {
    consumers: [alice, bob],
    keyauth_credentials: [keyCred(alice, 'ka'), keyCred(bob, 'kb')],
    acls: [acl(alice, 'admins'), acl(alice, 'dev'), acl(bob, 'guests')],
  }

  test('allow list: members pass with X-Consumer-Groups, others get 403, anonymous 401', async (t) => {
    const {port} = await setup(t, [() => plugin('key-auth', {}), () => plugin('acl', {allow: ['admins']})], data)
    const a = await get(port, '/', {headers: {apikey: 'ka'}})
    assert.equal(a.status, 200)
    assert.equal(a.json().headers['x-consumer-groups'], 'admins, dev')
    const b = await get(port, '/', {headers: {apikey: 'kb'}})
    assert.equal(b.status, 403)
    assert.equal(b.json().message, 'You cannot consume this service')
  })

  test('deny list and hide_groups_header', async (t) => {
    const {port} = await setup(t, [() => plugin('key-auth', {}), () => plugin('acl', {deny: ['admins'], hide_groups_header: true})], data)
    assert.equal((await get(port, '/', {headers: {apikey: 'ka'}})).status, 403)
    const b = await get(port, '/', {headers: {apikey: 'kb'}})
    assert.equal(b.status, 200)
    assert.equal(b.json().headers['x-consumer-groups'], undefined)
  })

  test('without an authenticated consumer: 401', async (t) => {
    const {port} = await setup(t, [() => plugin('acl', {allow: ['admins']})], data)
    const r = await get(port, '/')
    assert.equal(r.status, 401)
    assert.equal(r.json().message, 'Unauthorized')
  })
})
