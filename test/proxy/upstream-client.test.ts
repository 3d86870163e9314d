/**
 * The upstream HTTP/1.1 client against raw TCP servers that write exactly the bytes a
 * test needs: keep-alive reuse, every way a response body ends, informational answers,
 * a connection the upstream closed idle, timeouts, request framing and header checks;
 * then through the proxy, a large body to a slow client and the response headers as sent.
 */
import assert from 'node:assert/strict'
import {EventEmitter, once} from 'node:events'
import {createServer as createHttpServer, request} from 'node:http'
import {connect, createServer, type AddressInfo, type Socket} from 'node:net'
import {Readable} from 'node:stream'
import {describe, test} from 'node:test'
import {setListHeader} from '../../src/runtime/proxy/headers.js'
import {Cancellation, keepaliveOf, KONG_KEEPALIVE, OriginPool, UpstreamFailure, UpstreamPools, type ClientRequest, type Keepalive} from '../../src/runtime/proxy/upstream/index.js'
import {route, service} from '../router/fixtures.js'
import {consumer, keyCred, plugin} from '../plugins/fixtures.js'
import {deadPort, get, READ_MODES, startProxy, useReadMode} from './helpers.js'
import {until} from '../helpers/until.js'

type Cleanup = {after(fn: () => unknown): void}

interface Raw {
  port: number
  connections: () => number
  /** Connections closed so far (by either side). */
  closed: () => number
  /** Everything each connection received, in order. */
  received: string[]
}

/**
 * A TCP server; `onRequest(socket, text, n)` is called for each request head (and body
 * bytes) that arrives, `n` counting requests on that connection from 1.
 */
async function rawServer(t: Cleanup, onRequest: (s: Socket, text: string, n: number) => void): Promise<Raw> {
  const sockets = new Set<Socket>()
  const received: string[] = []
  let connections = 0
  let closed = 0
  const server = createServer((s) => {
    connections++
    sockets.add(s)
    const index = received.push('') - 1
    let n = 0
    let pending = ''
    s.on('data', (d) => {
      received[index] += d.toString('latin1')
      pending += d.toString('latin1')
      // one callback per complete head (bodies in these tests are small and sent with it)
      while (pending.includes('\r\n\r\n')) {
        const end = pending.indexOf('\r\n\r\n') + 4
        const head = pending.slice(0, end)
        const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0)
        const chunked = /transfer-encoding: chunked/i.test(head)
        const bodyEnd = chunked ? pending.indexOf('0\r\n\r\n', end) : end + len
        if (chunked && bodyEnd < 0) return
        if (!chunked && pending.length < bodyEnd) return
        const total = chunked ? bodyEnd + 5 : bodyEnd
        onRequest(s, pending.slice(0, total), ++n)
        pending = pending.slice(total)
      }
    })
    s.on('error', () => {})
    s.on('close', () => {
      closed++
      sockets.delete(s)
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => {
    for (const s of sockets) s.destroy()
    server.close()
  })
  return {port: (server.address() as AddressInfo).port, connections: () => connections, closed: () => closed, received}
}

/** A TCP server that answers `response` on each connection's first bytes and reads no more. */
async function answerAtOnce(t: Cleanup, response: string): Promise<number> {
  const sockets = new Set<Socket>()
  const server = createServer((s) => {
    sockets.add(s)
    s.on('error', () => {})
    s.once('data', () => {
      s.write(response)
      s.pause()
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => {
    for (const s of sockets) s.destroy()
    server.close()
  })
  return (server.address() as AddressInfo).port
}

function pool(t: Cleanup, port: number, keepalive?: Keepalive): OriginPool {
  const p = new OriginPool({tls: false, host: '127.0.0.1', port, connectTimeout: 2000}, keepalive)
  t.after(() => p.close())
  return p
}

function req(o: Partial<ClientRequest> = {}): ClientRequest {
  return {method: 'GET', path: '/', headers: ['host', 'upstream.test'], body: null, readTimeout: 2000, ...o}
}

const OK = (body = 'ok', extra = '') => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`

async function failure(p: Promise<unknown>): Promise<UpstreamFailure> {
  const err = await p.then(() => assert.fail('expected the try to fail'), (e) => e)
  assert.ok(err instanceof UpstreamFailure, `an UpstreamFailure, got ${err}`)
  return err
}

describe('upstream client: connections and bodies', () => {
  test('keep-alive: sequential requests share one connection; headers keep the upstream\'s case and repeats', async (t) => {
    const up = await rawServer(t, (s, _text, n) => s.write(OK(`hello ${n}`, 'X-Mixed-Case: yes\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n')))
    const p = pool(t, up.port)
    for (const n of [1, 2, 3]) {
      const res = await p.send(req())
      assert.equal(res.statusCode, 200)
      assert.equal((await res.readAll()).toString(), `hello ${n}`)
      assert.deepEqual(res.rawHeaders, ['Content-Length', '7', 'X-Mixed-Case', 'yes', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'])
      assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2'])
    }
    assert.equal(up.connections(), 1)
    assert.match(up.received[0], /^GET \/ HTTP\/1\.1\r\nhost: upstream\.test\r\n\r\n/)
  })

  for (const mode of READ_MODES) {
    test(`a throw while the response body is handed on fails that exchange only; the next one gets a new connection (${mode})`, async (t) => {
      useReadMode(t, mode)
      // the head first, the body in a later write: it reaches a reader already attached
      const up = await rawServer(t, (s, text) => {
        if (!text.startsWith('GET /split')) return void s.write(OK('fine'))
        s.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n')
        setTimeout(() => s.write('body'), 100)
      })
      const p = pool(t, up.port)
      const res = await p.send(req({path: '/split'}))
      const writer = Object.assign(new EventEmitter(), {
        write: () => {
          throw new Error('a bug in the writer')
        },
        end: () => {},
        destroy: () => writer.emit('close'),
      })
      const errors: string[] = []
      await res.pipeTo(writer as unknown as Parameters<typeof res.pipeTo>[0], (err) => errors.push(err.message))
      assert.deepEqual(errors, ['proxying the response failed: a bug in the writer'])
      const next = await p.send(req())
      assert.equal((await next.readAll()).toString(), 'fine')
      assert.equal(up.connections(), 2)
    })
  }

  test('chunked and connection-delimited bodies arrive whole; a closing connection is not reused', async (t) => {
    const up = await rawServer(t, (s, text) => {
      if (text.startsWith('GET /chunked')) s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n')
      else s.end('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end') // no length: the body ends with the connection
    })
    const p = pool(t, up.port)
    assert.equal((await (await p.send(req({path: '/chunked'}))).readAll()).toString(), 'hello world')
    assert.equal((await (await p.send(req({path: '/eof'}))).readAll()).toString(), 'until the end')
    assert.equal((await (await p.send(req({path: '/chunked'}))).readAll()).toString(), 'hello world')
    assert.equal(up.connections(), 2)
  })

  test('HEAD, 204 and 304 have no body whatever their Content-Length; 100 Continue is skipped', async (t) => {
    const up = await rawServer(t, (s, text) => {
      if (text.startsWith('HEAD')) s.write('HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n')
      else if (text.startsWith('GET /204')) s.write('HTTP/1.1 204 No Content\r\n\r\n')
      else if (text.startsWith('GET /304')) s.write('HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n')
      else s.write(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n${OK('after continue')}`)
    })
    const p = pool(t, up.port)
    const head = await p.send(req({method: 'HEAD'}))
    assert.equal(head.headers['content-length'], '1234')
    assert.equal((await head.readAll()).length, 0)
    assert.equal((await p.send(req({path: '/204'}))).statusCode, 204)
    const notModified = await p.send(req({path: '/304'}))
    assert.equal((await notModified.readAll()).length, 0)
    const cont = await p.send(req({method: 'POST', path: '/continue', body: Buffer.from('x')}))
    assert.equal(cont.statusCode, 200)
    assert.equal((await cont.readAll()).toString(), 'after continue')
    assert.equal(up.connections(), 1, 'every answer left the connection reusable')
  })

  test('Keep-Alive: timeout=1 leaves no time to reuse the connection: the next request opens a new one', async (t) => {
    const up = await rawServer(t, (s) => s.write(OK('ok', 'Keep-Alive: timeout=1\r\n')))
    const p = pool(t, up.port)
    await (await p.send(req())).readAll()
    await (await p.send(req())).readAll()
    assert.equal(up.connections(), 2)
  })

  test('a reused connection closed by the upstream as the request went out: once more on a new one, unless the body cannot be sent again', async (t) => {
    // every connection answers its first request, then drops at the second without a byte
    const up = await rawServer(t, (s, _text, n) => (n === 1 ? s.write(OK('first')) : s.destroy()))
    const p = pool(t, up.port)
    await (await p.send(req())).readAll()
    const again = await p.send(req({method: 'POST', body: Buffer.from('buffered body')}))
    assert.equal((await again.readAll()).toString(), 'first')
    assert.equal(up.connections(), 2)
    assert.match(up.received[1], /buffered body$/)
    const streamed = await failure(p.send(req({method: 'POST', body: Readable.from([Buffer.from('streamed')])})))
    assert.equal(streamed.kind, 'error')
    assert.equal(up.connections(), 2, 'a streamed body is not sent twice')
  })

  test('bytes after a response (more than its Content-Length, an answer nobody asked for): the connection is not reused', async (t) => {
    const up = await rawServer(t, (s, text, n) => {
      if (text.startsWith('GET /extra') && n === 1) s.write(`${OK('first')}HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n`) // in one write
      else if (text.startsWith('HEAD')) s.write(`HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody`)
      else s.write(OK(`answer ${n}`))
    })
    const p = pool(t, up.port)
    assert.equal((await (await p.send(req({path: '/extra'}))).readAll()).toString(), 'first')
    assert.equal((await (await p.send(req({path: '/next'}))).readAll()).toString(), 'answer 1', 'its own answer, on a new connection')
    assert.equal(up.connections(), 2)
    assert.equal((await (await p.send(req({method: 'HEAD'}))).readAll()).length, 0)
    assert.equal((await (await p.send(req({path: '/next'}))).readAll()).toString(), 'answer 1')
    assert.equal(up.connections(), 3, 'a body sent with the answer to HEAD is not taken for the next answer')
  })

  test('close() with a request in flight on a reused connection fails it; the request is not sent again', async (t) => {
    const up = await rawServer(t, (s, _text, n) => n === 1 && s.write(OK('first'))) // then never answers
    const p = pool(t, up.port)
    await (await p.send(req())).readAll()
    const pending = p.send(req({method: 'POST', body: Buffer.from('only once')}))
    await until('the upstream to receive the POST body', () => up.received[0], {ok: (r) => r.includes('only once'), intervalMs: 10})
    p.close()
    assert.match((await failure(pending)).message, /shutting down/)
    assert.equal(up.connections(), 1)
  })

  test('an invalid response, a missing response head and a stalled body fail with what happened', async (t) => {
    const up = await rawServer(t, (s, text) => {
      if (text.startsWith('GET /garbage')) s.write('SMTP ready\r\n\r\n')
      else if (text.startsWith('GET /stall')) s.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc')
      // /silent: never answers
    })
    const p = pool(t, up.port)
    const garbage = await failure(p.send(req({path: '/garbage'})))
    assert.equal(garbage.kind, 'error')
    assert.match(garbage.message, /invalid response from the upstream/)
    const silent = await failure(p.send(req({path: '/silent', readTimeout: 200})))
    assert.equal(silent.kind, 'timeout')
    assert.match(silent.message, /reading response headers/)
    const stall = await p.send(req({path: '/stall', readTimeout: 200}))
    const err = await stall.readAll().then(() => assert.fail('the body should fail'), (e) => e)
    assert.equal(err.kind, 'timeout')
    assert.match(err.message, /sending the response body/)
  })

  test('connection refused is a connect failure', async (t) => {
    const err = await failure(pool(t, await deadPort()).send(req()))
    assert.equal(err.kind, 'connect')
    assert.match(err.message, /ECONNREFUSED/)
  })

  test('request framing: a buffer gets its length, a stream of unknown length is chunked, a known one is not', async (t) => {
    const up = await rawServer(t, (s) => s.write(OK()))
    const p = pool(t, up.port)
    await (await p.send(req({method: 'POST', body: Buffer.from('twelve bytes')}))).readAll()
    await (await p.send(req({method: 'POST', body: Readable.from([Buffer.from('ab'), Buffer.from(''), Buffer.from('cde')])}))).readAll()
    await (await p.send(req({method: 'PUT', body: Readable.from([Buffer.from('xyz')]), bodyLength: 3}))).readAll()
    const all = up.received[0]
    assert.match(all, /^POST \/ HTTP\/1\.1\r\nhost: upstream\.test\r\ncontent-length: 12\r\n\r\ntwelve bytes/)
    assert.match(all, /POST \/ HTTP\/1\.1\r\nhost: upstream\.test\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n/)
    assert.match(all, /PUT \/ HTTP\/1\.1\r\nhost: upstream\.test\r\ncontent-length: 3\r\n\r\nxyz$/)
  })

  test('an answer before the request body went out: the rest of a streamed body is let go', async (t) => {
    const port = await answerAtOnce(t, 'HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n')
    const body = new Readable({read() {}}) // a client still uploading
    body.push(Buffer.alloc(1024, 1))
    const res = await pool(t, port).send(req({method: 'POST', body}))
    assert.equal(res.statusCode, 413)
    await res.readAll()
    assert.ok(body.destroyed, 'the body cut short is destroyed, not left paused with its listeners gone')
  })

  test('a response head while a streamed body still goes out: read_timeout applies to the response body', async (t) => {
    const port = await answerAtOnce(t, 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc') // then stalls
    const body = new Readable({read() {}}) // a client that keeps its upload open
    body.push(Buffer.alloc(1024, 1))
    t.after(() => body.destroy())
    const res = await pool(t, port).send(req({method: 'POST', body, readTimeout: 200}))
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise((r) => (timer = setTimeout(r, 5000, 'still waiting')))
    const outcome = await Promise.race([res.readAll().then(() => 'read', (e) => e), deadline])
    clearTimeout(timer)
    assert.ok(outcome instanceof UpstreamFailure, `the stalled body fails, got ${outcome}`)
    assert.equal(outcome.kind, 'timeout')
  })

  test('a streamed body that ends while the response waits for a slow reader does not time out the response', async (t) => {
    const size = 400 * 1024
    const sockets = new Set<Socket>()
    const server = createServer((s) => {
      sockets.add(s)
      s.on('error', () => {})
      s.once('data', () => {
        s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${size + 1}\r\n\r\n`)
        s.write(Buffer.alloc(size, 0x61)) // the last byte comes when the test says
      })
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    t.after(() => {
      for (const s of sockets) s.destroy()
      server.close()
    })
    const body = new Readable({read() {}})
    body.push(Buffer.alloc(1024, 1))
    const res = await pool(t, (server.address() as AddressInfo).port).send(req({method: 'POST', body, readTimeout: 200}))
    // the upstream has handed its 400 KiB to the connection, which nobody reads: it pauses
    await until('the upstream to have sent the body but its last byte', () => [...sockets].some((s) => s.bytesWritten > size && s.writableLength === 0), {intervalMs: 10})
    body.push(null) // the upload ends while nobody reads the response
    // The window: a try with the same 200 ms read_timeout on an upstream that answers
    // nothing, sent now, times out (the reader's slowness, not the upstream's, must not).
    const silent = await rawServer(t, () => {})
    assert.equal((await failure(pool(t, silent.port).send(req({readTimeout: 200})))).kind, 'timeout')
    for (const s of sockets) s.write('b')
    const all = await res.readAll()
    assert.equal(all.length, size + 1)
  })

  test('a cancelled try fails at once and closes its connection', async (t) => {
    let closed = false
    const up = await rawServer(t, (s) => s.once('close', () => (closed = true)))
    const signal = new Cancellation()
    const pending = pool(t, up.port).send(req({signal}))
    await until('the upstream to receive the request head', () => up.received[0], {ok: (r) => r !== undefined && r.includes('\r\n\r\n'), intervalMs: 10})
    signal.abort()
    assert.match((await failure(pending)).message, /client closed/)
    await until('the upstream to see the connection close', () => closed, {intervalMs: 10})
  })
})

describe('upstream client: through the proxy', () => {
  test('a 4 MiB body reaches a client that stops reading for longer than read_timeout, intact', async (t) => {
    const body = Buffer.alloc(4 * 1024 * 1024)
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff
    const origin = createHttpServer((_req, res) => {
      res.writeHead(200, {'content-length': body.length})
      res.end(body)
    })
    origin.listen(0, '127.0.0.1')
    await once(origin, 'listening')
    t.after(() => {
      origin.closeAllConnections()
      origin.close()
    })
    const s = service({host: '127.0.0.1', port: (origin.address() as AddressInfo).port, read_timeout: 300})
    const {port} = await startProxy(t, {services: [s], routes: [route({paths: ['/big'], service: {id: s.id}})]})
    const got = await new Promise<Buffer>((resolve, reject) => {
      request({host: '127.0.0.1', port, path: '/big', agent: false}, (res) => {
        const chunks: Buffer[] = []
        let paused = false
        res.on('data', (c: Buffer) => {
          chunks.push(c)
          if (!paused) {
            paused = true
            res.pause()
            setTimeout(() => res.resume(), 900) // three read_timeouts
          }
        })
        res.on('end', () => resolve(Buffer.concat(chunks)))
        res.on('error', reject)
      }).on('error', reject).end()
    })
    assert.equal(got.length, body.length)
    assert.ok(got.equals(body))
  })

  test('an upstream answering 413 before reading a large request body: the client gets the 413 and the proxy keeps running', async (t) => {
    const upPort = await answerAtOnce(t, 'HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n')
    const ok = await rawServer(t, (s) => s.write(OK('still here')))
    // An upstream that never reads: a try to it ends when its write_timeout fires.
    const stuck = new Set<Socket>()
    const stall = createServer((s) => {
      stuck.add(s)
      s.on('error', () => {})
      s.pause()
    })
    stall.listen(0, '127.0.0.1')
    await once(stall, 'listening')
    t.after(() => {
      for (const s of stuck) s.destroy()
      stall.close()
    })
    const big = service({host: '127.0.0.1', port: upPort, write_timeout: 100, retries: 0})
    const slowWriter = service({host: '127.0.0.1', port: (stall.address() as AddressInfo).port, write_timeout: 100, retries: 0})
    const fine = service({host: '127.0.0.1', port: ok.port})
    const {port} = await startProxy(t, {
      services: [big, slowWriter, fine],
      routes: [route({paths: ['/upload'], service: {id: big.id}}), route({paths: ['/stall'], service: {id: slowWriter.id}}), route({paths: ['/ok'], service: {id: fine.id}})],
    })
    const upload = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const r = request({host: '127.0.0.1', port, path, method: 'POST', agent: false}, (res) => {
          res.resume()
          resolve(res.statusCode!)
        })
        r.on('error', reject)
        r.end(Buffer.alloc(16 * 1024 * 1024, 1)) // far more than the socket buffers take
      })
    assert.equal(await upload('/upload'), 413)
    // The window: a later try with the same write_timeout times out (504), so the 413
    // try's write_timeout has passed too: nothing of that try may fire now (it crashed the process)
    assert.equal(await upload('/stall'), 504)
    const after = await new Promise<string>((resolve, reject) => {
      request({host: '127.0.0.1', port, path: '/ok', agent: false}, (res) => {
        let text = ''
        res.on('data', (c) => (text += c))
        res.on('end', () => resolve(text))
      }).on('error', reject).end()
    })
    assert.equal(after, 'still here')
  })

  test('a large buffered body on a connection the upstream closed idle goes once more on a new one, whole', async (t) => {
    const bodies: number[] = []
    const up = await rawServer(t, (s, text, n) => {
      if (n > 1) return s.destroy() // every connection answers once, then drops the next request unanswered
      bodies.push(text.length - text.indexOf('\r\n\r\n') - 4)
      s.write(OK('done'))
    })
    const s = service({host: '127.0.0.1', port: up.port, retries: 0})
    const {port} = await startProxy(t, {services: [s], routes: [route({paths: ['/'], service: {id: s.id}})]})
    assert.equal((await get(port, '/warm')).status, 200)
    const big = 'x'.repeat(300 * 1024) // above the size watched for write_timeout
    const r = await get(port, '/upload', {method: 'POST', body: big, headers: {'content-type': 'text/plain'}})
    assert.equal(r.status, 200, r.body)
    assert.equal(r.body, 'done')
    assert.equal(up.connections(), 2)
    assert.deepEqual(bodies, [0, big.length])
  })

  test("response headers: the upstream's case and repeats kept, hop-by-hop and Connection-listed ones dropped, Via appended", async (t) => {
    const up = await rawServer(t, (s) => s.write(
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Upstream-Case: Kept\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n' +
      'Connection: keep-alive, X-Private\r\nX-Private: secret\r\nKeep-Alive: timeout=30\r\nVia: 1.1 cache\r\n\r\nok',
    ))
    const s = service({host: '127.0.0.1', port: up.port})
    const {port} = await startProxy(t, {services: [s], routes: [route({paths: ['/h'], service: {id: s.id}})]})
    const raw = await new Promise<string[]>((resolve, reject) => {
      request({host: '127.0.0.1', port, path: '/h', agent: false}, (res) => {
        res.resume()
        res.on('end', () => resolve(res.rawHeaders))
      }).on('error', reject).end()
    })
    const names = raw.filter((_, i) => i % 2 === 0)
    assert.ok(names.includes('X-Upstream-Case'))
    assert.equal(names.filter((n) => n === 'Set-Cookie').length, 2)
    assert.ok(!names.map((n) => n.toLowerCase()).includes('x-private'))
    assert.ok(!names.includes('Keep-Alive'))
    assert.match(raw[raw.indexOf('Via') + 1], /^1\.1 cache, 1\.1 kong\//)
  })

  // what the upstream's status line says after its code, per path
  const STATUS_LINES: Record<string, string> = {
    '/custom': '200 All Good Here',
    '/latin1': '200 Gr\xfc\xdfe',
    '/empty': '404 ',
    '/none': '404',
    '/nul': '200 OK\0X-Injected: 1',
    '/ctl': '200 A\x01B',
    '/del': '200 A\x7fB',
    '/cr': '200 OK\rX-Injected: 1',
    '/lf': '200 OK\nX-Injected: 1',
  }
  for (const [server, client] of [['fast', 'fast'], ['fast', 'node'], ['node', 'fast']] as const) {
    test(`the upstream's reason phrase reaches the client; one a head may not hold gives way to the standard one (${server} server, ${client} upstream client)`, async (t) => {
      const up = await rawServer(t, (sock, text) => {
        const path = text.slice(text.indexOf(' ') + 1, text.indexOf(' ', text.indexOf(' ') + 1))
        sock.write(`HTTP/1.1 ${STATUS_LINES[path]}\r\nContent-Length: 2\r\n\r\nok`, 'latin1')
      })
      const env = {KCTL_NODE_HTTP_SERVER: server === 'node' ? '1' : undefined, KCTL_UPSTREAM_CLIENT: client === 'node' ? 'node' : undefined}
      const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]))
      const setEnv = (values: Record<string, string | undefined>) => {
        for (const [k, v] of Object.entries(values)) if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
      setEnv(env)
      t.after(() => setEnv(saved))
      const s = service({host: '127.0.0.1', port: up.port})
      const {port} = await startProxy(t, {services: [s], routes: [route({paths: ['/'], service: {id: s.id}})]})
      const lines: Record<string, string> = {}
      for (const path of Object.keys(STATUS_LINES)) {
        const sock = connect(port, '127.0.0.1')
        await once(sock, 'connect')
        let text = ''
        sock.on('data', (d) => (text += d.toString('latin1')))
        sock.on('error', () => {})
        sock.write(`GET ${path} HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n`)
        await once(sock, 'close')
        const head = text.slice(0, text.indexOf('\r\n\r\n'))
        assert.doesNotMatch(head, /\r\nX-Injected:/i, `${path}: no header of the reason's making`)
        assert.doesNotMatch(head.split('\r\n')[0], /[^\t\x20-\x7e\x80-\xff]/, `${path}: a status line a head may hold`)
        lines[path] = head.split('\r\n')[0]
      }
      assert.deepEqual(lines, {
        '/custom': 'HTTP/1.1 200 All Good Here',
        '/latin1': 'HTTP/1.1 200 Gr\xfc\xdfe',
        '/empty': 'HTTP/1.1 404 Not Found',
        '/none': 'HTTP/1.1 404 Not Found',
        '/nul': 'HTTP/1.1 200 OK',
        '/ctl': 'HTTP/1.1 200 OK',
        '/del': 'HTTP/1.1 200 OK',
        '/cr': 'HTTP/1.1 502 Bad Gateway',
        '/lf': 'HTTP/1.1 502 Bad Gateway',
      })
    })
  }
})

describe('response headers on routes with plugins', () => {
  test("key-auth + rate-limiting (no response handler): the upstream's case kept as without plugins, the plugins' headers added, hop-by-hop dropped, Via appended", async (t) => {
    const up = await rawServer(t, (s) => s.write(
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Upstream-Case: Kept\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n' +
      'Connection: keep-alive, X-Private\r\nX-Private: secret\r\nVia: 1.1 cache\r\nX-RateLimit-Limit-Minute: 7\r\n\r\nok',
    ))
    const s = service({host: '127.0.0.1', port: up.port})
    const r = route({paths: ['/h'], service: {id: s.id}})
    const c = consumer('alice')
    const {port} = await startProxy(t, {
      services: [s], routes: [r], consumers: [c] as never, keyauth_credentials: [keyCred(c, 'secret-key')] as never,
      plugins: [plugin('key-auth'), plugin('rate-limiting', {minute: 100, policy: 'local'})],
    })
    const head = await new Promise<{status: number; raw: string[]}>((resolve, reject) => {
      request({host: '127.0.0.1', port, path: '/h', agent: false, headers: {apikey: 'secret-key'}}, (res) => {
        res.resume()
        res.on('end', () => resolve({status: res.statusCode!, raw: res.rawHeaders}))
      }).on('error', reject).end()
    })
    assert.equal(head.status, 200)
    const {raw} = head
    const names = raw.filter((_, i) => i % 2 === 0)
    const value = (n: string) => raw[raw.indexOf(n) + 1]
    assert.ok(names.includes('X-Upstream-Case'), names.join(','))
    assert.equal(names.filter((n) => n === 'Set-Cookie').length, 2)
    assert.ok(!names.map((n) => n.toLowerCase()).includes('x-private'))
    assert.match(value('Via'), /^1\.1 cache, 1\.1 kong\//)
    // the plugin's value replaces the upstream's header of that name, in its place and case
    assert.equal(names.filter((n) => n.toLowerCase() === 'x-ratelimit-limit-minute').length, 1)
    assert.equal(value('X-RateLimit-Limit-Minute'), '100')
    assert.equal(value('x-ratelimit-remaining-minute'), '99')
    assert.equal(value('ratelimit-limit'), '100')
    assert.match(value('x-kong-request-id'), /^[0-9a-f]{32}$/)
  })
})

describe('upstream request headers set by plugins', () => {
  test('setListHeader replaces the first entry in place, drops repeats, appends new ones, removes with null', () => {
    const list: Array<string | string[]> = ['accept', '*/*', 'x-a', '1', 'x-b', '2', 'x-a', '3', 'host', 'up']
    setListHeader(list, 'x-a', 'new')
    assert.deepEqual(list, ['accept', '*/*', 'x-a', 'new', 'x-b', '2', 'host', 'up'])
    setListHeader(list, 'x-c', ['c1', 'c2'])
    setListHeader(list, 'x-b', null)
    assert.deepEqual(list, ['accept', '*/*', 'x-a', 'new', 'host', 'up', 'x-c', ['c1', 'c2']])
  })

  test('refuses names that are not tokens and values with CR, LF or NUL, naming the header', () => {
    assert.throws(() => setListHeader([], 'x-bad', 'a\r\nx-evil: 1'), /invalid value for upstream request header "x-bad"/)
    assert.throws(() => setListHeader([], 'x-nul', ['ok', 'a\u0000']), /"x-nul"/)
    assert.throws(() => setListHeader([], 'bad name', 'v'), /invalid upstream request header name "bad name"/)
    const list: Array<string | string[]> = []
    setListHeader(list, 'x-fine', 'a b\tc é')
    assert.deepEqual(list, ['x-fine', 'a b\tc é'])
  })
})

describe("upstream client: kong.conf's upstream_keepalive_* settings", () => {
  test('pool size: idle connections beyond it are closed, the longest idle first; 0 keeps none', async (t) => {
    const up = await rawServer(t, (s) => setTimeout(() => s.write(OK()), 50)) // 3 tries in flight at once
    const p = pool(t, up.port, {...KONG_KEEPALIVE, poolSize: 1})
    await Promise.all([1, 2, 3].map(async () => (await p.send(req())).readAll()))
    assert.equal(up.connections(), 3)
    await until('two idle connections closed', () => up.closed(), {ok: (n) => n === 2, intervalMs: 10})
    await (await p.send(req())).readAll()
    assert.equal(up.connections(), 3, 'the one kept is reused')

    const none = await rawServer(t, (s) => s.write(OK()))
    const p0 = pool(t, none.port, {...KONG_KEEPALIVE, poolSize: 0})
    for (let i = 0; i < 3; i++) await (await p0.send(req())).readAll()
    assert.equal(none.connections(), 3)
  })

  test('max requests: a connection is closed after that many; 0 is no limit', async (t) => {
    const up = await rawServer(t, (s) => s.write(OK()))
    const p = pool(t, up.port, {...KONG_KEEPALIVE, maxRequests: 2})
    for (let i = 0; i < 5; i++) await (await p.send(req())).readAll()
    assert.equal(up.connections(), 3)
    const unlimited = await rawServer(t, (s) => s.write(OK()))
    const pu = pool(t, unlimited.port, {...KONG_KEEPALIVE, maxRequests: 0})
    for (let i = 0; i < 5; i++) await (await pu.send(req())).readAll()
    assert.equal(unlimited.connections(), 1)
  })

  test('from kong.conf: seconds to ms, capped where Node timers end (a longer timeout would fire at once)', () => {
    const conf = {upstream_keepalive_pool_size: 7, upstream_keepalive_max_requests: 0, upstream_keepalive_idle_timeout: 60}
    assert.deepEqual(keepaliveOf(conf), {poolSize: 7, maxRequests: 0, idleTimeoutMs: 60_000})
    assert.equal(keepaliveOf({...conf, upstream_keepalive_idle_timeout: 10_000_000}).idleTimeoutMs, 2 ** 31 - 1)
  })

  test('idle timeout: an idle connection is closed after it; 0 keeps it open', async (t) => {
    const up = await rawServer(t, (s) => s.write(OK()))
    const p = pool(t, up.port, {...KONG_KEEPALIVE, idleTimeoutMs: 150})
    await (await p.send(req())).readAll()
    await until('the idle connection closed', () => up.closed(), {ok: (n) => n === 1, intervalMs: 10})
    const forever = await rawServer(t, (s) => s.write(OK()))
    const pf = pool(t, forever.port, {...KONG_KEEPALIVE, idleTimeoutMs: 0})
    await (await pf.send(req())).readAll()
    // The window: a connection idle since after this one, with a 150 ms idle timeout, closes.
    const clock = await rawServer(t, (s) => s.write(OK()))
    await (await pool(t, clock.port, {...KONG_KEEPALIVE, idleTimeoutMs: 150}).send(req())).readAll()
    await until('a connection with a 150 ms idle timeout closed', () => clock.closed(), {ok: (n) => n === 1, intervalMs: 10})
    assert.equal(forever.closed(), 0)
    await (await pf.send(req())).readAll()
    assert.equal(forever.connections(), 1)
  })

  test("an upstream's Keep-Alive timeout shortens the idle time of the response that carries it only", async (t) => {
    let n = 0
    const up = await rawServer(t, (s) => s.write(++n === 1 ? OK('ok', 'Keep-Alive: timeout=2\r\n') : OK()))
    const p = pool(t, up.port, {...KONG_KEEPALIVE, idleTimeoutMs: 0})
    await (await p.send(req())).readAll() // idle for at most 1 s after this one
    await (await p.send(req())).readAll() // no hint: no idle limit (idleTimeoutMs 0)
    // The window: a connection whose last response carries the same hint, idle from after
    // this one, closes (the hint's 1 s has passed for the first connection too).
    const clock = await rawServer(t, (s) => s.write(OK('ok', 'Keep-Alive: timeout=2\r\n')))
    await (await pool(t, clock.port, {...KONG_KEEPALIVE, idleTimeoutMs: 0}).send(req())).readAll()
    await until('a connection idle after a Keep-Alive: timeout=2 answer closed', () => clock.closed(), {ok: (n) => n === 1, intervalMs: 10})
    assert.equal(up.connections(), 1)
    assert.equal(up.closed(), 0, 'the first response\'s hint did not stick to the connection')
  })
})

describe('upstream client: pools per origin', () => {
  test('pools whose connections are all gone are dropped once there are many origins (targets come and go)', async (t) => {
    const up = await rawServer(t, (s) => s.end('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok'))
    const pools = new UpstreamPools()
    t.after(() => pools.close())
    // one origin per connect_timeout value, as edits to a service would make them
    for (let i = 0; i < 300; i++) {
      const res = await pools.send({scheme: 'http', peer: {host: '127.0.0.1', port: up.port, weight: 1}, method: 'GET', path: '/', headers: ['host', 'x'],
        body: null, connectTimeout: 1000 + i, readTimeout: 2000, tlsVerify: false})
      await res.readAll()
      await until('the connection closed', () => up.closed() === i + 1, {intervalMs: 1})
    }
    assert.ok(pools.origins <= 257, `${pools.origins} pools kept`)
    assert.ok(pools.origins >= 1)
  })
})

