/** cors, ip-restriction, request-transformer, response-transformer through the proxy. */
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {route, service} from '../router/fixtures.js'
import {get, startProxy, startUpstream} from '../proxy/helpers.js'
import {plugin} from './fixtures.js'

async function setup(t: any, plugins: any[], handle?: Parameters<typeof startUpstream>[2]) {
  const up = await startUpstream(t, 'a', handle)
  const s = service({url: `http://127.0.0.1:${up.port}`})
  const r = route({paths: ['/'], service: {id: s.id}})
  const {port} = await startProxy(t, {services: [s], routes: [r], plugins} as any)
  return {port, up}
}

describe('plugins: cors', () => {
  test('preflight answered by the gateway with Kong defaults; simple requests get ACAO *', async (t) => {
    const {port, up} = await setup(t, [plugin('cors')])
    const pre = await get(port, '/x', {method: 'OPTIONS', headers: {origin: 'http://a.test', 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-a'}})
    assert.equal(pre.status, 200)
    assert.equal(pre.headers['access-control-allow-origin'], '*')
    assert.equal(pre.headers['access-control-allow-methods'], 'GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT')
    assert.equal(pre.headers['access-control-allow-headers'], 'x-a')
    assert.equal(up.hits(), 0)
    const simple = await get(port, '/x', {headers: {origin: 'http://a.test'}})
    assert.equal(simple.status, 200)
    assert.equal(simple.headers['access-control-allow-origin'], '*')
  })

  test('methods: null answers a preflight with every method, as Kong; an empty list with none', async (t) => {
    const preflight = {method: 'OPTIONS', headers: {origin: 'http://a.test', 'access-control-request-method': 'GET'}}
    const unset = await setup(t, [plugin('cors', {methods: null})])
    assert.equal((await get(unset.port, '/', preflight)).headers['access-control-allow-methods'], 'GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT')
    const none = await setup(t, [plugin('cors', {methods: []})])
    assert.equal((await get(none.port, '/', preflight)).headers['access-control-allow-methods'], '')
  })

  test('origin lists and regexes, credentials, exposed headers, max_age, preflight_continue', async (t) => {
    const conf = {origins: ['http://a.test', 'https://.*\\.b\\.test'], credentials: true, exposed_headers: ['x-e'], max_age: 60, headers: ['x-h']}
    const {port} = await setup(t, [plugin('cors', conf)])
    const ok = await get(port, '/', {headers: {origin: 'https://api.b.test'}})
    assert.equal(ok.headers['access-control-allow-origin'], 'https://api.b.test')
    assert.equal(ok.headers['access-control-allow-credentials'], 'true')
    assert.equal(ok.headers['access-control-expose-headers'], 'x-e')
    assert.match(String(ok.headers.vary), /Origin/)
    const other = await get(port, '/', {headers: {origin: 'http://evil.test'}})
    assert.equal(other.headers['access-control-allow-origin'], undefined)
    const pre = await get(port, '/', {method: 'OPTIONS', headers: {origin: 'http://a.test', 'access-control-request-method': 'PUT'}})
    assert.equal(pre.headers['access-control-allow-origin'], 'http://a.test')
    assert.equal(pre.headers['access-control-max-age'], '60')
    assert.equal(pre.headers['access-control-allow-headers'], 'x-h')
    const cont = await setup(t, [plugin('cors', {preflight_continue: true})])
    const proxied = await get(cont.port, '/', {method: 'OPTIONS', headers: {origin: 'http://a.test', 'access-control-request-method': 'PUT'}})
    assert.equal(proxied.json().upstream, 'a')
    assert.equal(cont.up.hits(), 1)
  })
})

describe('plugins: ip-restriction', () => {
  test("deny and allow lists with CIDRs; Kong's 403 body; status and message", async (t) => {
    const denied = await setup(t, [plugin('ip-restriction', {deny: ['127.0.0.0/8']})])
    const r = await get(denied.port, '/')
    assert.equal(r.status, 403)
    assert.equal(r.json().message, 'IP address not allowed: 127.0.0.1')
    assert.equal(denied.up.hits(), 0)
    const allowed = await setup(t, [plugin('ip-restriction', {allow: ['127.0.0.1', '10.0.0.0/8']})])
    assert.equal((await get(allowed.port, '/')).status, 200)
    const outside = await setup(t, [plugin('ip-restriction', {allow: ['10.0.0.0/8', '::1/128'], status: 401, message: 'go away'})])
    const o = await get(outside.port, '/')
    assert.equal(o.status, 401)
    assert.equal(o.json().message, 'go away')
  })
})

describe('plugins: request-transformer', () => {
  test('headers, query string, JSON and form bodies, method and uri, in Kong order', async (t) => {
    const conf = {
      http_method: 'POST',
      remove: {headers: ['x-drop'], querystring: ['q1'], body: ['secret']},
      rename: {headers: ['x-old:x-new'], querystring: ['q2:q3'], body: ['a:b']},
      replace: {headers: ['x-rep:replaced', 'x-absent:nope'], uri: '/rewritten', body: ['c:new']},
      add: {headers: ['x-added:1', 'x-keep:ignored'], querystring: ['q4:v4'], body: ['d:added']},
      append: {headers: ['x-multi:two'], querystring: ['q4:v5']},
    }
    const {port} = await setup(t, [plugin('request-transformer', conf)])
    const body = JSON.stringify({secret: 's', a: 1, c: 'old'})
    const r = await get(port, '/orig?q1=a&q2=b', {method: 'PUT', body, headers: {'content-type': 'application/json', 'x-drop': '1', 'x-old': 'o', 'x-rep': 'r', 'x-keep': 'k', 'x-multi': 'one'}})
    const echo = r.json()
    assert.equal(echo.method, 'POST')
    const url = new URL(echo.url, 'http://x')
    assert.equal(url.pathname, '/rewritten')
    assert.equal(url.searchParams.get('q1'), null)
    assert.equal(url.searchParams.get('q3'), 'b')
    assert.deepEqual(url.searchParams.getAll('q4'), ['v4', 'v5'])
    assert.equal(echo.headers['x-drop'], undefined)
    assert.equal(echo.headers['x-new'], 'o')
    assert.equal(echo.headers['x-rep'], 'replaced')
    assert.equal(echo.headers['x-absent'], undefined)
    assert.equal(echo.headers['x-added'], '1')
    assert.equal(echo.headers['x-keep'], 'k')
    assert.equal(echo.headers['x-multi'], 'one, two')
    assert.deepEqual(JSON.parse(echo.body), {b: 1, c: 'new', d: 'added'})
    const form = await get(port, '/', {method: 'POST', body: 'secret=1&a=2', headers: {'content-type': 'application/x-www-form-urlencoded'}})
    assert.equal(form.json().body, 'b=2&d=added')
  })

  test("multipart/form-data bodies: Kong's rename, remove, replace, add; other parts (files) kept byte for byte under the body's boundary", async (t) => {
    const conf = {rename: {body: ['a:b']}, remove: {body: ['secret']}, replace: {body: ['c:new']}, add: {body: ['d:added', 'c:ignored']}, append: {body: ['e:appended']}}
    const {port} = await setup(t, [plugin('request-transformer', conf)])
    const B = 'XyZ'
    const file = 'Content-Disposition: form-data; name="upload"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nline é\r\n--not-the-boundary\r\n'
    const body = [`--${B}\r\nContent-Disposition: form-data; name="secret"\r\n\r\ns\r\n`, `--${B}\r\n${file}\r\n`, `--${B}\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n`, `--${B}\r\nContent-Disposition: form-data; name="c"\r\n\r\nold\r\n`, `--${B}--\r\n`].join('')
    const r = await get(port, '/', {method: 'POST', body, headers: {'content-type': `multipart/form-data; boundary=${B}`}})
    const echo = r.json()
    assert.equal(echo.headers['content-type'], `multipart/form-data; boundary=${B}`)
    assert.equal(Number(echo.headers['content-length']), Buffer.byteLength(echo.body))
    const field = (name: string, v: string) => `--${B}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${v}\r\n`
    assert.equal(echo.body, `--${B}\r\n${file}\r\n${field('b', '1')}${field('c', 'new')}${field('d', 'added')}--${B}--\r\n`)
    const form = await new Response(echo.body, {headers: {'content-type': echo.headers['content-type']}}).formData()
    assert.equal(await (form.get('upload') as Blob).text(), 'line é\r\n--not-the-boundary\r\n')
    // not multipart after all (no boundary): left alone
    const bare = await get(port, '/', {method: 'POST', body: 'a=1', headers: {'content-type': 'multipart/form-data'}})
    assert.equal(bare.json().body, 'a=1')
  })
})

describe('plugins: response-transformer', () => {
  test('headers and JSON body keys with json_types; non-JSON bodies untouched', async (t) => {
    const conf = {
      remove: {headers: ['server'], json: ['upstream']},
      rename: {json: ['method:verb']},
      replace: {json: ['url:/hidden']},
      add: {headers: ['x-added:1'], json: ['n:42', 'flag:true'], json_types: ['number', 'boolean']},
      append: {headers: ['x-multi:a', 'x-multi:b']},
    }
    const {port} = await setup(t, [plugin('response-transformer', conf)])
    const r = await get(port, '/')
    assert.equal(r.headers.server, undefined)
    assert.equal(r.headers['x-added'], '1')
    assert.equal(r.headers['x-multi'], 'a, b')
    const body = r.json()
    assert.equal(body.upstream, undefined)
    assert.equal(body.verb, 'GET')
    assert.equal(body.url, '/hidden')
    assert.equal(body.n, 42)
    assert.equal(body.flag, true)
    assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body))
    const text = await setup(t, [plugin('response-transformer', conf)], (_req, res) => {
      res.writeHead(200, {'content-type': 'text/plain'})
      res.end('{"upstream":1}')
      return true
    })
    assert.equal((await get(text.port, '/')).body, '{"upstream":1}')
  })

  test("JSON keys as Kong's body_transformer: add fills a false key, replace leaves it, a number that is none is not written; problem+json is JSON", async (t) => {
    const conf = {replace: {json: ['off:x', 'n:1']}, add: {json: ['f:added', 'bad:abc'], json_types: ['string', 'number']}}
    const {port} = await setup(t, [plugin('response-transformer', conf)], (_req, res) => {
      res.writeHead(200, {'content-type': 'application/problem+json'})
      res.end('{"off":false,"f":false,"n":null}')
      return true
    })
    assert.deepEqual((await get(port, '/')).json(), {off: false, f: 'added', n: '1'})
  })
})

describe('plugins: what a plugin sets upstream is checked', () => {
  test('a header set with a line break is refused with 500 and never reaches the upstream; names are replaced case-insensitively, in place', async (t) => {
    const bad = await setup(t, [plugin('request-transformer', {add: {headers: ['x-injected:a\r\nx-evil: 1']}})])
    assert.equal((await get(bad.port, '/x')).status, 500)
    assert.equal(bad.up.hits(), 0)
    const good = await setup(t, [plugin('request-transformer', {replace: {headers: ['X-Rep:new']}, add: {headers: ['X-Added:1']}})])
    const r = await get(good.port, '/x', {headers: {'x-rep': 'old', 'x-after': 'a'}})
    const names = Object.keys(r.json().headers)
    assert.equal(r.json().headers['x-rep'], 'new')
    assert.equal(r.json().headers['x-added'], '1')
    assert.ok(names.indexOf('x-rep') < names.indexOf('x-after'), 'the replaced header keeps its place')
  })

  test('a rewritten path with spaces or non-ASCII characters goes out percent-encoded', async (t) => {
    const {port} = await setup(t, [plugin('request-transformer', {replace: {uri: '/a b/é'}})])
    assert.equal((await get(port, '/x?q=1')).json().url, '/a%20b/%C3%A9?q=1')
  })
})
