import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {createServer} from 'node:http'
import {connect, type AddressInfo} from 'node:net'
import {once} from 'node:events'
import {createServer as createHttpsServer} from 'node:https'
import {describe, test} from 'node:test'
import {generateSelfSigned} from '../../src/pki/self-signed-rsa.js'
import {GATEWAY_VERSION} from '../../src/runtime/kit/version.js'
import {route, service, upstream} from '../router/fixtures.js'
import {headerPolicy} from '../../src/runtime/proxy/kong-headers.js'
import {deadPort, get, startProxy, startUpstream, type Echo} from './helpers.js'

describe('proxy: routing and forwarding', () => {
  test('routes by host, path and method to the right upstream with Kong headers', async (t) => {
    const a = await startUpstream(t, 'a')
    const b = await startUpstream(t, 'b')
    const sa = service({name: 'a', url: `http://127.0.0.1:${a.port}`})
    const sb = service({name: 'b', url: `http://127.0.0.1:${b.port}/base`})
    const {port} = await startProxy(t, {
      services: [sa, sb],
      routes: [
        route({hosts: ['a.test'], service: {id: sa.id}}),
        route({paths: ['/b'], methods: ['POST'], service: {id: sb.id}}),
        route({hosts: ['*.wild.test'], paths: ['/w'], strip_path: false, service: {id: sb.id}}),
      ],
    })
    const r1 = await get(port, '/x/y?q=1&r=%20', {headers: {host: 'a.test', 'x-forwarded-for': '10.0.0.1', connection: 'keep-alive, x-hop', 'x-hop': '1'}})
    assert.equal(r1.status, 200)
    const e1: Echo = r1.json()
    assert.equal(e1.upstream, 'a')
    assert.equal(e1.url, '/x/y?q=1&r=%20')
    assert.equal(e1.headers.host, `127.0.0.1:${a.port}`)
    assert.equal(e1.headers['x-forwarded-for'], '10.0.0.1, 127.0.0.1')
    assert.equal(e1.headers['x-real-ip'], '127.0.0.1')
    assert.equal(e1.headers['x-forwarded-proto'], 'http')
    assert.equal(e1.headers['x-forwarded-host'], 'a.test')
    assert.equal(e1.headers['x-forwarded-port'], String(port))
    assert.equal(e1.headers['x-forwarded-path'], '/x/y')
    assert.equal(e1.headers['x-hop'], undefined)
    assert.equal(r1.headers.via, `1.1 kong/${GATEWAY_VERSION}`)
    assert.equal(r1.headers.server, 'upstream-a')
    assert.match(String(r1.headers['x-kong-upstream-latency']), /^\d+$/)
    assert.match(String(r1.headers['x-kong-proxy-latency']), /^\d+$/)

    const r2 = await get(port, '/b/items', {method: 'POST', body: 'hello'})
    const e2: Echo = r2.json()
    assert.equal(e2.upstream, 'b')
    assert.equal(e2.url, '/base/items')
    assert.equal(e2.body, 'hello')
    assert.equal(e2.headers['x-forwarded-prefix'], '/b')

    const r3 = await get(port, '/w/z', {headers: {host: 'x.wild.test'}})
    assert.equal(r3.json().url, '/base/w/z')
    assert.equal((await get(port, '/b/items')).status, 404) // GET: method not allowed by the route
  })

  test('Expect: 100-continue is answered by the proxy, not sent upstream (as nginx)', async (t) => {
    const up = await startUpstream(t, 'e')
    const s = service({url: `http://127.0.0.1:${up.port}`})
    const {port} = await startProxy(t, {services: [s], routes: [route({paths: ['/e'], service: {id: s.id}})]})
    const r = await get(port, '/e', {method: 'POST', headers: {expect: '100-continue'}, body: 'payload'})
    assert.equal(r.status, 200)
    const e: Echo = r.json()
    assert.equal(e.body, 'payload')
    assert.equal(e.headers.expect, undefined)
  })

  test('preserve_host forwards the client Host header', async (t) => {
    const a = await startUpstream(t, 'a')
    const s = service({url: `http://127.0.0.1:${a.port}`})
    const {port} = await startProxy(t, {services: [s], routes: [route({hosts: ['keep.test'], preserve_host: true, service: {id: s.id}})]})
    const r = await get(port, '/', {headers: {host: 'keep.test:1234'}})
    assert.equal(r.json().headers.host, 'keep.test:1234')
  })

  test('path handling v0 and v1 end to end', async (t) => {
    const a = await startUpstream(t, 'a')
    const s = service({host: '127.0.0.1', port: a.port, path: '/s'})
    const {port} = await startProxy(t, {
      services: [s],
      routes: [
        route({paths: ['/tv0'], strip_path: true, path_handling: 'v0', service: {id: s.id}}),
        route({paths: ['/fv1'], strip_path: false, path_handling: 'v1', service: {id: s.id}}),
      ],
    })
    assert.equal((await get(port, '/tv0/req?x=1')).json().url, '/s/req?x=1')
    assert.equal((await get(port, '/fv1req')).json().url, '/sfv1req')
  })
})

describe('proxy: Kong error responses', () => {
  const kongJson = (r: {status: number; headers: any; json(): any}, status: number, message: string) => {
    assert.equal(r.status, status)
    assert.equal(r.headers['content-type'], 'application/json; charset=utf-8')
    const body = r.json()
    assert.equal(body.message, message)
    assert.match(body.request_id, /^[0-9a-f]{32}$/)
    assert.equal(r.headers['x-kong-request-id'], body.request_id)
  }

  test('404 no route, 503 no service, https-only: 426 and redirects', async (t) => {
    const {port} = await startProxy(t, {
      routes: [
        route({paths: ['/noservice'], service: null}),
        route({paths: ['/secure'], protocols: ['https'], service: null}),
        route({paths: ['/moved'], protocols: ['https'], https_redirect_status_code: 301, service: null}),
      ],
    })
    kongJson(await get(port, '/nothing'), 404, 'no Route matched with those values')
    kongJson(await get(port, '/noservice'), 503, 'no Service found with those values')
    const r426 = await get(port, '/secure')
    kongJson(r426, 426, 'Please use HTTPS protocol')
    assert.equal(r426.headers.upgrade, 'TLS/1.2, HTTP/1.1')
    const r301 = await get(port, '/moved/x?y=1', {headers: {host: 'api.test:8000'}})
    assert.equal(r301.status, 301)
    assert.equal(r301.headers.location, 'https://api.test/moved/x?y=1')
  })

  test('502 on connection refused, 504 on read timeout, 503 with no usable target', async (t) => {
    const slow = await startUpstream(t, 'slow', (_req, res) => {
      const timer = setTimeout(() => res.end('late'), 2000)
      res.on('close', () => clearTimeout(timer))
      return true
    })
    const refused = service({name: 'refused', host: '127.0.0.1', port: await deadPort(), retries: 1})
    const timeout = service({name: 'timeout', host: '127.0.0.1', port: slow.port, read_timeout: 200, retries: 0})
    // An upstream without a single target: the balancer has no peer to give.
    const empty = upstream({name: 'empty.pool'})
    const noTarget = service({name: 'no-target', host: 'empty.pool'})
    const {port} = await startProxy(t, {
      services: [refused, timeout, noTarget],
      upstreams: [empty],
      routes: [route({paths: ['/refused'], service: {id: refused.id}}), route({paths: ['/slow'], service: {id: timeout.id}}), route({paths: ['/empty'], service: {id: noTarget.id}})],
    })
    const json = {headers: {accept: 'application/json'}}
    kongJson(await get(port, '/refused', json), 502, 'An invalid response was received from the upstream server')
    kongJson(await get(port, '/slow', json), 504, 'The upstream server is timing out')
    kongJson(await get(port, '/empty', json), 503, 'failure to get a peer from the ring-balancer')
  })
})

describe('proxy: https upstream', () => {
  test('proxies to an https service without verifying its certificate (tls_verify off, as Kong)', async (t) => {
    const srv = createHttpsServer(generateSelfSigned('secure-upstream.test'), (req, res) => {
      res.writeHead(200, {'content-type': 'text/plain'})
      res.end(`tls ${req.url} sni=${(req.socket as any).servername}`)
    })
    srv.listen(0, '127.0.0.1')
    await once(srv, 'listening')
    t.after(() => new Promise((r) => {
      srv.closeAllConnections()
      srv.close(r)
    }))
    const s = service({protocol: 'https', host: '127.0.0.1', port: (srv.address() as any).port})
    const {port} = await startProxy(t, {services: [s], routes: [route({paths: ['/tls'], service: {id: s.id}})]})
    const r = await get(port, '/tls/x')
    assert.equal(r.status, 200)
    assert.equal(r.body, 'tls /x sni=false')
  })
})

describe("proxy: kong.conf's headers and headers_upstream", () => {
  async function setup(t: any, headers?: ReturnType<typeof headerPolicy>) {
    const up = await startUpstream(t, 'a', (_req, res) => {
      if (_req.url === '/echo') return false
      res.writeHead(201, {server: 'upstream-server', via: '1.0 cache', 'x-kong-proxy-latency': 'theirs'})
      res.end('ok')
      return true
    })
    const s = service({host: '127.0.0.1', port: up.port})
    return startProxy(t, {services: [s], routes: [route({paths: ['/p'], service: {id: s.id}})]}, {headers})
  }

  test("Kong's defaults: Via and latencies on proxied responses, Server and X-Kong-Response-Latency on the gateway's own, the request id on both and upstream", async (t) => {
    const {port} = await setup(t)
    const proxied = await get(port, '/p/x')
    assert.equal(proxied.status, 201)
    assert.equal(proxied.headers.server, 'upstream-server')
    assert.equal(proxied.headers.via, `1.0 cache, 1.1 kong/${GATEWAY_VERSION}`)
    assert.match(String(proxied.headers['x-kong-proxy-latency']), /^\d+$/)
    assert.match(String(proxied.headers['x-kong-upstream-latency']), /^\d+$/)
    assert.match(String(proxied.headers['x-kong-request-id']), /^[0-9a-f]{32}$/)
    assert.equal(proxied.headers['x-kong-response-latency'], undefined)
    assert.equal(proxied.headers['x-kong-upstream-status'], undefined)
    const own = await get(port, '/nothing-here')
    assert.equal(own.status, 404)
    assert.equal(own.headers.server, `kong/${GATEWAY_VERSION}`)
    assert.match(String(own.headers['x-kong-response-latency']), /^\d+$/)
    assert.equal(own.headers.via, undefined)
    assert.equal(own.headers['x-kong-proxy-latency'], undefined)
    assert.match(String(own.headers['x-kong-request-id']), /^[0-9a-f]{32}$/)
    assert.match(String((await get(port, '/p/echo')).json().headers['x-kong-request-id']), /^[0-9a-f]{32}$/)
  })

  test('headers = off, headers_upstream = off: nothing of the gateway\'s, and the upstream\'s own headers of those names pass through', async (t) => {
    const {port} = await setup(t, headerPolicy(['off'], ['off']))
    const proxied = await get(port, '/p/x')
    assert.equal(proxied.headers.via, '1.0 cache')
    assert.equal(proxied.headers['x-kong-proxy-latency'], 'theirs')
    for (const h of ['x-kong-upstream-latency', 'x-kong-request-id', 'x-kong-response-latency']) assert.equal(proxied.headers[h], undefined, h)
    const own = await get(port, '/nothing-here')
    for (const h of ['server', 'via', 'x-kong-request-id', 'x-kong-response-latency']) assert.equal(own.headers[h], undefined, h)
    const echo = (await get(port, '/p/echo', {headers: {'x-kong-request-id': 'from-the-client'}})).json()
    assert.equal(echo.headers['x-kong-request-id'], 'from-the-client')
  })

  test('single headers by name, case-insensitive: Server only, X-Kong-Upstream-Status', async (t) => {
    const {port} = await setup(t, headerPolicy(['server', 'X-Kong-Upstream-Status'], ['X-Kong-Request-Id']))
    const proxied = await get(port, '/p/x')
    assert.equal(proxied.headers.via, '1.0 cache')
    assert.equal(proxied.headers['x-kong-upstream-status'], '201')
    assert.equal(proxied.headers['x-kong-request-id'], undefined)
    const own = await get(port, '/nothing-here')
    assert.equal(own.headers.server, `kong/${GATEWAY_VERSION}`)
    assert.equal(own.headers['x-kong-response-latency'], undefined)
  })
})

describe('proxy: error formats, negotiated as Kong does', () => {
  async function setup(t: any, errorDefaultType?: string) {
    const refused = service({host: '127.0.0.1', port: await deadPort(), retries: 0})
    const {port} = await startProxy(t, {services: [refused], routes: [route({paths: ['/refused'], service: {id: refused.id}})]}, {errorDefaultType})
    return port
  }

  test('a proxy failure with no Accept: error_default_type (text/plain by default), or the request\'s Content-Type', async (t) => {
    const port = await setup(t)
    const plain = await get(port, '/refused')
    assert.equal(plain.status, 502)
    assert.equal(plain.headers['content-type'], 'text/plain; charset=utf-8')
    assert.equal(plain.body, `An invalid response was received from the upstream server\nrequest_id: ${plain.headers['x-kong-request-id']}\n`)
    const byType = await get(port, '/refused', {method: 'POST', body: '{}', headers: {'content-type': 'application/json'}})
    assert.equal(byType.json().message, 'An invalid response was received from the upstream server')
    const html = await get(await setup(t, 'text/html'), '/refused')
    assert.equal(html.headers['content-type'], 'text/html; charset=utf-8')
    assert.equal(html.body, `<!doctype html>\n<html>\n  <head>\n    <meta charset="utf-8">\n    <title>Error</title>\n  </head>\n  <body>\n    <h1>Error</h1>\n    <p>An invalid response was received from the upstream server.</p>\n    <p>request_id: ${html.headers['x-kong-request-id']}</p>\n  </body>\n</html>\n`)
  })

  test('Accept picks the format, highest q first; */* and unknown types are JSON; the router\'s errors are JSON without Accept', async (t) => {
    const port = await setup(t)
    const xml = await get(port, '/nothing', {headers: {accept: 'application/xml'}})
    assert.equal(xml.status, 404)
    assert.equal(xml.headers['content-type'], 'application/xml; charset=utf-8')
    assert.equal(xml.body, `<?xml version="1.0" encoding="UTF-8"?>\n<error>\n  <message>no Route matched with those values</message>\n  <requestid>${xml.headers['x-kong-request-id']}</requestid>\n</error>\n`)
    const cases: Array<[string | undefined, string]> = [
      [undefined, 'application/json'],
      ['*/*', 'application/json'],
      ['text/*', 'text/plain'],
      ['image/png', 'application/json'],
      ['application/json;q=0.9,text/html,text/plain;q=0.9', 'text/html'],
      ['text/plain;q=0.7,application/json;q=0.8,text/html;q=0.5', 'application/json'],
    ]
    for (const [accept, type] of cases) {
      const r = await get(port, '/nothing', accept === undefined ? {} : {headers: {accept}})
      assert.equal(r.headers['content-type'], `${type}; charset=utf-8`, `Accept: ${accept}`)
    }
  })
})

describe('proxy: pipelined answers in order', () => {
  test('a pipelined request refused for its long request line is answered after the one before it, still in flight', async (t) => {
    const up = createServer((_req, res) => setTimeout(() => {
      res.writeHead(200, {'content-length': 2})
      res.end('ok')
    }, 100))
    up.listen(0, '127.0.0.1')
    await once(up, 'listening')
    t.after(() => new Promise<void>((r) => {
      up.closeAllConnections()
      up.close(() => r())
    }))
    const s = service({host: '127.0.0.1', port: (up.address() as AddressInfo).port, protocol: 'http'})
    const {port} = await startProxy(t, {services: [s], routes: [route({paths: ['/p'], service: {id: s.id}})]})
    const client = connect(port, '127.0.0.1')
    t.after(() => client.destroy())
    let text = ''
    client.on('data', (d) => (text += d.toString('latin1')))
    client.write(`GET /p HTTP/1.1\r\nHost: a.test\r\n\r\nGET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: a.test\r\n\r\n`)
    await once(client, 'close')
    assert.deepEqual(text.match(/HTTP\/1\.1 \d{3}/g), ['HTTP/1.1 200', 'HTTP/1.1 414'])
    assert.match(text, /\r\n\r\nokHTTP\/1\.1 414 /)
  })

  test('a pipelined request refused for its long request line comes after the answer to the one before, read in the same turn', async (t) => {
    // the upstream and the client run in another process: when the upstream gets request 1 it
    // says so, and this process (the proxy) blocks; meanwhile the upstream answers and the
    // client sends request 2, so the proxy reads the answer, then request 2, in one turn
    const child = spawn(process.execPath, ['-e', `
      const http = require('http'), net = require('net')
      let client
      const up = http.createServer((q, r) => {
        process.stdout.write('GOT\\n')
        setTimeout(() => {
          r.writeHead(200, {'content-length': 2})
          r.end('ok')
          setTimeout(() => client.write('GET /' + 'a'.repeat(9000) + ' HTTP/1.1\\r\\nHost: a.test\\r\\n\\r\\n'), 30)
        }, 100)
      }).listen(0, '127.0.0.1', () => process.stdout.write('UP ' + up.address().port + '\\n'))
      process.stdin.once('data', (d) => {
        client = net.connect({port: Number(d.toString()), host: '127.0.0.1'}, () => client.write('GET /p HTTP/1.1\\r\\nHost: a.test\\r\\n\\r\\n'))
        let text = ''
        client.on('data', (x) => (text += x.toString('latin1')))
        client.on('error', () => {})
        client.on('close', () => { process.stdout.write('RESULT ' + JSON.stringify(text.match(/HTTP\\/1\\.1 \\d{3}/g)) + '\\n'); process.exit(0) })
      })
      setTimeout(() => process.exit(1), 10000)
    `], {stdio: ['pipe', 'pipe', 'inherit']})
    t.after(() => child.kill())
    let out = ''
    const upPort = await new Promise<number>((resolve) => child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /UP (\d+)\n/.exec(out)
      if (m) resolve(Number(m[1]))
    }))
    const s = service({host: '127.0.0.1', port: upPort, protocol: 'http'})
    const {port} = await startProxy(t, {services: [s], routes: [route({paths: ['/p'], service: {id: s.id}})]})
    child.stdout.on('data', () => {
      if (out.includes('GOT') && !out.includes('BLOCKED')) {
        out += 'BLOCKED'
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500)
      }
    })
    child.stdin.write(String(port))
    await once(child, 'exit')
    assert.match(out, /RESULT \["HTTP\/1\.1 200","HTTP\/1\.1 414"\]/)
  })
})
