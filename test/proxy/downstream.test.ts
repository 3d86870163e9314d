/**
 * The proxy's own HTTP/1.1 server (src/runtime/proxy/downstream/) on real sockets: what
 * Node's `http.Server` did for the proxy must happen the same way (pipelining, 100-continue,
 * HTTP/1.0, chunked bodies, the refusals' pages, timeouts), and no request, however
 * malformed, may end the process. Where both servers can answer the same bytes, the test
 * sends them to a proxy on each (`KCTL_NODE_HTTP_SERVER=1` picks Node's) and compares.
 */
import assert from 'node:assert/strict'
import {once} from 'node:events'
import {spawn} from 'node:child_process'
import {createServer} from 'node:http'
import net from 'node:net'
import {describe, test} from 'node:test'
import {createDownstreamServer} from '../../src/runtime/proxy/downstream/server.js'
import {route, service} from '../router/fixtures.js'
import {FAST_SERVER_AVAILABLE, READ_MODES, startProxy, startUpstream, useReadMode, type Cleanup} from './helpers.js'
import {until} from '../helpers/until.js'

/** Sends `parts` (written one by one, `gapMs` apart) on a new connection; resolves with all it read when the server closes it or `waitMs` passed. */
async function exchange(port: number, parts: Array<string | Buffer>, {gapMs = 0, waitMs = 2000, until: done}: {gapMs?: number; waitMs?: number; until?: (got: string) => boolean} = {}): Promise<{text: string; closed: boolean}> {
  const s = net.connect(port, '127.0.0.1')
  await once(s, 'connect')
  let text = ''
  let closed = false
  const finished = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, waitMs)
    s.on('data', (d) => {
      text += d.toString('latin1')
      if (done?.(text)) {
        clearTimeout(timer)
        resolve()
      }
    })
    s.on('close', () => {
      closed = true
      clearTimeout(timer)
      resolve()
    })
    s.on('error', () => {})
  })
  for (const p of parts) {
    if (s.destroyed) break
    s.write(p)
    if (gapMs) await new Promise((r) => setTimeout(r, gapMs))
  }
  await finished
  s.destroy()
  return {text, closed}
}

/** The responses in `text` (HTTP/1.1, framed by Content-Length, chunked, or none), as status, head and body. */
function responses(text: string): Array<{status: number; head: string; body: string}> {
  const out = []
  let rest = text
  while (rest.startsWith('HTTP/1.1 ')) {
    const end = rest.indexOf('\r\n\r\n')
    if (end < 0) break
    const head = rest.slice(0, end)
    rest = rest.slice(end + 4)
    let body = ''
    if (/\r\ntransfer-encoding: chunked/i.test(head)) {
      for (;;) {
        const line = rest.indexOf('\r\n')
        const size = parseInt(rest.slice(0, line), 16)
        body += rest.slice(line + 2, line + 2 + size)
        rest = rest.slice(line + 2 + size + 2)
        if (size === 0 || Number.isNaN(size)) break
      }
    } else {
      const len = /\r\ncontent-length: (\d+)/i.exec(head)
      const n = len ? Number(len[1]) : 0
      body = rest.slice(0, n)
      rest = rest.slice(n)
    }
    out.push({status: Number(head.slice(9, 12)), head, body})
  }
  return out
}

/** What differs between two answers to the same request by design: the date, the request id, the latencies. */
function normalized(text: string): string {
  return text
    .replace(/\r\nDate: [^\r]*/gi, '\r\nDate: -')
    .replace(/[0-9a-f]{32}/g, '<id>')
    .replace(/(\r\nX-Kong-[A-Za-z-]*Latency: )\d+/gi, '$1-')
    .replace(/"x-forwarded-port":"\d+"/g, '"x-forwarded-port":"-"')
}

/** A proxy to an echoing upstream on `/`, on the server `kind` (the process's own choice, or Node's forced). */
async function proxyOn(t: Cleanup, kind: 'fast' | 'node', upstreamPort: number): Promise<number> {
  const saved = process.env.KCTL_NODE_HTTP_SERVER
  if (kind === 'node') process.env.KCTL_NODE_HTTP_SERVER = '1'
  else delete process.env.KCTL_NODE_HTTP_SERVER
  try {
    const s = service({url: `http://127.0.0.1:${upstreamPort}`})
    return (await startProxy(t, {services: [s], routes: [route({paths: ['/'], service: {id: s.id}})]})).port
  } finally {
    if (saved === undefined) delete process.env.KCTL_NODE_HTTP_SERVER
    else process.env.KCTL_NODE_HTTP_SERVER = saved
  }
}


describe('proxy downstream server', {skip: FAST_SERVER_AVAILABLE ? false : "Node's internal parser is not usable here"}, () => {
  test('answers byte for byte as Node\'s server: proxied, HEAD, 404, 1.0, refusals (long request line, large headers, malformed)', async (t) => {
    const up = await startUpstream(t, 'a')
    const fast = await proxyOn(t, 'fast', up.port)
    const node = await proxyOn(t, 'node', up.port)
    const cases: string[] = [
      'GET /x?y=1 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n',
      'HEAD /x HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n',
      'GET /x HTTP/1.0\r\nHost: a.test\r\n\r\n',
      'GET /x HTTP/1.1\r\nConnection: close\r\n\r\n', // no Host: Kong's 400
      'TRACE /x HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n',
      `GET /${'a'.repeat(8200)} HTTP/1.1\r\nHost: a.test\r\n\r\n`,
      `GET /x HTTP/1.1\r\nHost: a.test\r\nX-Big: ${'b'.repeat(17_000)}\r\n\r\n`,
      'GET /x HTTP/1.1\r\nHost: a.test\r\nBad Header: 1\r\n\r\n',
      'NOT A REQUEST\r\n\r\n',
      'POST /x HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    ]
    for (const c of cases) {
      const [a, b] = await Promise.all([exchange(fast, [c]), exchange(node, [c])])
      assert.equal(normalized(a.text), normalized(b.text), `answers to ${JSON.stringify(c.slice(0, 60))}`)
      assert.equal(a.closed, b.closed, `connection closed after ${JSON.stringify(c.slice(0, 60))}`)
    }
  })

  test('pipelined requests are answered in order, on one connection', async (t) => {
    const up = await startUpstream(t, 'a', (req, res) => {
      // the first is the slowest: its answer must still come first
      const delay = req.url === '/1' ? 150 : req.url === '/2' ? 50 : 0
      setTimeout(() => res.end(req.url), delay)
      return true
    })
    const port = await proxyOn(t, 'fast', up.port)
    const req = (n: number) => `GET /${n} HTTP/1.1\r\nHost: a.test\r\n\r\n`
    const {text} = await exchange(port, [req(1) + req(2) + req(3) + req(4).replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n')], {waitMs: 5000})
    const got = responses(text)
    assert.deepEqual(got.map((r) => [r.status, r.body]), [[200, '/1'], [200, '/2'], [200, '/3'], [200, '/4']])
    assert.match(got[0].head, /\r\nConnection: keep-alive$/m)
    assert.match(got[3].head, /\r\nConnection: close$/m)
  })

  test('Expect: 100-continue: 100 Continue before the body is sent; another expectation is 417', async (t) => {
    const up = await startUpstream(t, 'a')
    const port = await proxyOn(t, 'fast', up.port)
    const s = net.connect(port, '127.0.0.1')
    await once(s, 'connect')
    t.after(() => s.destroy())
    let text = ''
    s.on('data', (d) => (text += d.toString('latin1')))
    s.write('POST /e HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n')
    await until('100 Continue', () => text.startsWith('HTTP/1.1 100 Continue\r\n\r\n'), {intervalMs: 5})
    s.write('hello')
    await until('the final answer', () => text.includes('"upstream":"a"'), {intervalMs: 5})
    const final = responses(text.slice('HTTP/1.1 100 Continue\r\n\r\n'.length))[0]
    assert.equal(final.status, 200)
    assert.equal(JSON.parse(final.body).body, 'hello')
    assert.equal(JSON.parse(final.body).headers.expect, undefined)
    const other = await exchange(port, ['GET / HTTP/1.1\r\nHost: a.test\r\nExpect: something\r\n\r\n'], {until: (x) => x.includes('\r\n\r\n')})
    assert.match(other.text, /^HTTP\/1\.1 417 Expectation Failed\r\n/)
  })

  test('HTTP/1.0: closed after the answer, unless it asks for keep-alive and the answer has a length', async (t) => {
    const up = await startUpstream(t, 'a', (req, res) => {
      if (req.url === '/chunked') res.writeHead(200).end('no length')
      else res.writeHead(200, {'content-length': Buffer.byteLength(req.url!)}).end(req.url)
      return true
    })
    const port = await proxyOn(t, 'fast', up.port)
    const plain = await exchange(port, ['GET /one HTTP/1.0\r\nHost: a.test\r\n\r\n'])
    assert.equal(plain.closed, true)
    assert.match(plain.text, /^HTTP\/1\.1 200 OK\r\n[^]*\r\nConnection: close\r\n/)
    const kept = await exchange(port, ['GET /one HTTP/1.0\r\nHost: a.test\r\nConnection: keep-alive\r\n\r\n', 'GET /two HTTP/1.0\r\nHost: a.test\r\n\r\n'], {gapMs: 200})
    const got = responses(kept.text)
    assert.deepEqual(got.map((r) => r.body), ['/one', '/two'])
    assert.match(got[0].head, /\r\nConnection: keep-alive$/m)
    assert.match(got[1].head, /\r\nConnection: close$/m)
    assert.equal(kept.closed, true)
    // no chunked encoding for HTTP/1.0: the body ends with the connection
    const unframed = await exchange(port, ['GET /chunked HTTP/1.0\r\nHost: a.test\r\nConnection: keep-alive\r\n\r\n'])
    assert.equal(unframed.closed, true)
    assert.match(unframed.text, /\r\nConnection: close\r\n\r\nno length$/)
  })

  test('a chunked request body, sent in pieces, reaches the upstream whole', async (t) => {
    const up = await startUpstream(t, 'a')
    const port = await proxyOn(t, 'fast', up.port)
    const {text} = await exchange(port, ['POST /c HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n', '5\r\nhello\r\n', '6\r\n world\r\n', '0\r\n\r\n'], {gapMs: 30})
    const echo = JSON.parse(responses(text)[0].body)
    assert.equal(echo.body, 'hello world')
    assert.equal(echo.headers['content-length'], '11')
    assert.equal(echo.headers['transfer-encoding'], undefined)
  })

  test('a client that goes away mid-body ends nothing but its request', async (t) => {
    const up = await startUpstream(t, 'a')
    const s = service({url: `http://127.0.0.1:${up.port}`})
    const {proxy, port} = await startProxy(t, {services: [s], routes: [route({paths: ['/'], service: {id: s.id}})]})
    await exchange(port, ['POST /m HTTP/1.1\r\nHost: a.test\r\nContent-Length: 1000\r\n\r\n', 'x'.repeat(100)], {waitMs: 100})
    await until('the request to be over', () => proxy.stats().requests_in_flight === 0, {intervalMs: 10})
    const after = await exchange(port, ['GET /after HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n'])
    assert.equal(JSON.parse(responses(after.text)[0].body).url, '/after')
    assert.equal(up.hits(), 1)
  })

  test('hostile requests get an answer or a closed connection, never the process', async (t) => {
    const up = await startUpstream(t, 'a')
    const port = await proxyOn(t, 'fast', up.port)
    const hostile: Array<string | Buffer> = [
      Buffer.from([0, 1, 2, 3, 255, 254, 13, 10, 13, 10]),
      'GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
      'CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n',
      'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nGET / HTTP/1.1\r\n\r\n',
      'GET / HTTP/9.9\r\nHost: a.test\r\n\r\n',
      `GET / HTTP/1.1\r\n${'X: y\r\n'.repeat(3000)}\r\n`,
      'POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n',
      'GET / HTTP/1.1\nHost: a.test\n\n',
      'GET /%00%ff/../.. HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n',
    ]
    for (const h of hostile) {
      const r = await exchange(port, [h], {waitMs: 1000})
      assert.ok(r.closed || r.text.startsWith('HTTP/1.1 '), `some answer to ${JSON.stringify(h.toString().slice(0, 40))}: ${JSON.stringify(r.text.slice(0, 80))}`)
    }
    const ok = await exchange(port, ['GET /still HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n'])
    assert.equal(JSON.parse(responses(ok.text)[0].body).url, '/still')
  })
})

describe('downstream request headers', {skip: FAST_SERVER_AVAILABLE ? false : "Node's internal parser is not usable here"}, () => {
  test("headers, headersDistinct and one header's values are Node's, for the same bytes", async (t) => {
    const names = ['apikey', 'x-multi', 'cookie', 'set-cookie', 'host', 'content-type', 'absent', 'x_under']
    type Seen = {headers: unknown; distinct: unknown; values: unknown[]}
    const seen = (req: {headers: unknown; headersDistinct: Record<string, string[] | undefined>; headerValues?: (n: string) => string[] | undefined}, distinctFirst: boolean): Seen => {
      // one header's values, before or after the whole object was built
      const distinct = distinctFirst ? req.headersDistinct : null
      const values = names.map((n) => (req.headerValues ? req.headerValues(n) : req.headersDistinct[n]) ?? null)
      return {headers: req.headers, distinct: {...(distinct ?? req.headersDistinct)}, values}
    }
    const got: Record<string, Seen> = {}
    const answer = (key: string, distinctFirst: boolean) => (req: never, res: {writeHead: (s: number, h: Record<string, number>) => void; end: (b: string) => void}) => {
      got[key] = seen(req, distinctFirst)
      res.writeHead(200, {'content-length': 2})
      res.end('ok')
    }
    const listen = async (server: net.Server) => {
      server.listen(0, '127.0.0.1')
      await once(server, 'listening')
      t.after(() => new Promise<void>((r) => server.close(() => r())))
      return (server.address() as net.AddressInfo).port
    }
    const request = 'GET / HTTP/1.1\r\nHost: a.test\r\nAPIKey: one\r\nX-Multi: a\r\nx-multi: b\r\nX-MULTI: c\r\nCookie: x=1\r\ncookie: y=2\r\n' +
      'Set-Cookie: s=1\r\nset-cookie: s=2\r\nContent-Type: text/plain\r\ncontent-type: text/html\r\nX_Under: u\r\nConnection: close\r\n\r\n'
    for (const distinctFirst of [false, true]) {
      const node = createServer({keepAliveTimeout: 1000}, answer('node', distinctFirst) as never)
      const fast = createDownstreamServer({keepAliveTimeout: 1000}, answer('fast', distinctFirst) as never)
      for (const port of [await listen(node), await listen(fast as unknown as net.Server)]) {
        const r = await exchange(port, [request], {until: (text) => responses(text).length === 1})
        assert.equal(responses(r.text)[0]?.status, 200)
      }
      assert.deepEqual(got.fast.headers, got.node.headers)
      assert.deepEqual(got.fast.distinct, got.node.distinct)
      assert.deepEqual(got.fast.values, got.node.values, `one header's values${distinctFirst ? ', after headersDistinct' : ''}`)
      assert.deepEqual(got.fast.values.slice(0, 2), [['one'], ['a', 'b', 'c']])
    }
  })
})

describe('downstream server timeouts', {skip: FAST_SERVER_AVAILABLE ? false : "Node's internal parser is not usable here"}, () => {
  /** A bare downstream server answering `ok`, with short timeouts; clientError answers 400 and closes, as the proxy's. */
  async function bare(t: Cleanup, opts: {headersTimeout?: number; requestTimeout?: number; keepAliveTimeout?: number; handler?: Parameters<typeof createDownstreamServer>[1]}) {
    const errors: string[] = []
    const server = createDownstreamServer({keepAliveTimeout: opts.keepAliveTimeout ?? 60_000, headersTimeout: opts.headersTimeout, requestTimeout: opts.requestTimeout, checkIntervalMs: 50}, opts.handler ?? ((_req, res) => {
      res.writeHead(200, {'content-length': 2})
      res.end('ok')
    }))
    server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
      errors.push(err.code ?? err.message)
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      else socket.destroy()
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    t.after(() => new Promise<void>((r) => {
      server.closeIdleConnections()
      server.close(() => r())
    }))
    return {port: (server.address() as net.AddressInfo).port, errors, server}
  }

  test('a head trickled in slower than headersTimeout is refused (slowloris)', async (t) => {
    const {port, errors} = await bare(t, {headersTimeout: 300})
    const head = 'GET / HTTP/1.1\r\nHost: a.test\r\nX-Slow: ' + 'z'.repeat(40)
    const started = Date.now()
    const r = await exchange(port, [...head], {gapMs: 20, waitMs: 3000})
    assert.equal(r.closed, true)
    assert.match(r.text, /^HTTP\/1\.1 400 /)
    assert.ok(Date.now() - started < 2000)
    assert.deepEqual(errors, ['ERR_HTTP_REQUEST_TIMEOUT'])
  })

  test('a connection that never sends a byte goes after headersTimeout too; an idle kept-alive one after keepAliveTimeout', async (t) => {
    const {port, errors} = await bare(t, {headersTimeout: 200, keepAliveTimeout: 100})
    const silent = await exchange(port, [], {waitMs: 3000})
    assert.equal(silent.closed, true)
    assert.deepEqual(errors, ['ERR_HTTP_REQUEST_TIMEOUT'])
    const started = Date.now()
    // the idle timeout is keepAliveTimeout plus Node's 1 s buffer
    const kept = await exchange(port, ['GET / HTTP/1.1\r\nHost: a.test\r\n\r\n'], {waitMs: 5000})
    assert.equal(kept.closed, true)
    assert.match(kept.text, /^HTTP\/1\.1 200 OK\r\n/)
    assert.ok(Date.now() - started >= 1000, 'not closed before the idle timeout')
    assert.deepEqual(errors, ['ERR_HTTP_REQUEST_TIMEOUT'])
  })

  test('the idle timeout does not end a request answered after it, and counts again from that answer', async (t) => {
    // keepAliveTimeout 100: idle connections go after 1.1 s; /slow is answered after 1.6 s
    const {port, errors} = await bare(t, {keepAliveTimeout: 100, handler: (req, res) => {
      const answer = () => {
        res.writeHead(200, {'content-length': 2})
        res.end('ok')
      }
      if (req.url === '/slow') setTimeout(answer, 1600)
      else answer()
    }})
    const started = Date.now()
    let answeredAt = 0
    const r = await exchange(port, ['GET / HTTP/1.1\r\nHost: a.test\r\n\r\n', 'GET /slow HTTP/1.1\r\nHost: a.test\r\n\r\n'], {
      gapMs: 500,
      waitMs: 8000,
      until: (got) => {
        if (answeredAt === 0 && responses(got).length === 2) answeredAt = Date.now()
        return false
      },
    })
    assert.deepEqual(responses(r.text).map((x) => x.status), [200, 200], 'both answered, the slow one too')
    assert.equal(r.closed, true, 'then closed as idle')
    const idleFor = Date.now() - answeredAt
    assert.ok(answeredAt - started >= 2000, `the slow answer came after its 1.6 s (${answeredAt - started} ms)`)
    assert.ok(idleFor >= 800 && idleFor < 3000, `closed about 1.1 s after the last answer, not counted from before it (${idleFor} ms)`)
    assert.deepEqual(errors, [])
  })

  test("a response's own setTimeout fires while it is answered; the connection is idle with its own timeout after", async (t) => {
    const timedOut: string[] = []
    const {port} = await bare(t, {keepAliveTimeout: 100, handler: (req, res) => {
      if (req.url === '/waits') {
        // no answer but the one its timeout gives (Node's: on the response, as the request is whole)
        res.setTimeout(300, () => {
          timedOut.push(req.url!)
          res.writeHead(503, {'content-length': 0})
          res.end()
        })
        return
      }
      res.writeHead(200, {'content-length': 2})
      res.end('ok')
    }})
    const started = Date.now()
    const r = await exchange(port, ['GET /waits HTTP/1.1\r\nHost: a.test\r\n\r\n'], {waitMs: 6000})
    assert.deepEqual(responses(r.text).map((x) => x.status), [503])
    assert.deepEqual(timedOut, ['/waits'])
    assert.equal(r.closed, true)
    const took = Date.now() - started
    assert.ok(took >= 1300 && took < 4000, `503 after 0.3 s, then closed 1.1 s idle later (${took} ms)`)
  })

  test('a request answered before its body came in goes idle once the body is in, and times out as idle', async (t) => {
    const {port} = await bare(t, {keepAliveTimeout: 100, handler: (_req, res) => {
      // refused at once, the body not read (a 401 to an upload)
      res.writeHead(401, {'content-length': 0})
      res.end()
    }})
    const started = Date.now()
    const r = await exchange(port, ['POST /upload HTTP/1.1\r\nHost: a.test\r\nContent-Length: 4\r\n\r\n', 'abcd'], {gapMs: 300, waitMs: 6000})
    assert.deepEqual(responses(r.text).map((x) => x.status), [401])
    assert.equal(r.closed, true, 'closed as idle, not kept open')
    const took = Date.now() - started
    assert.ok(took >= 1200 && took < 4000, `the body at 0.3 s, then 1.1 s idle (${took} ms)`)
  })

  test('a timeout reaches both the request still being read and its response, and one handled leaves the socket open', async (t) => {
    const heard: string[] = []
    const {port} = await bare(t, {handler: (req, res) => {
      req.setTimeout(300, () => heard.push('request'))
      res.on('timeout', () => {
        heard.push('response')
        res.writeHead(408, {'content-length': 0, connection: 'close'})
        res.end()
      })
    }})
    // the body never comes
    const r = await exchange(port, ['POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 10\r\n\r\n'], {waitMs: 4000})
    assert.deepEqual(heard, ['request', 'response'])
    assert.deepEqual(responses(r.text).map((x) => x.status), [408], 'the response answered: the socket was not destroyed unanswered')
  })

  test('after a Connection: close response the socket goes once flushed, also when the client keeps its side open', async (t) => {
    const {port, server} = await bare(t, {})
    const s = net.connect({port, host: '127.0.0.1', allowHalfOpen: true})
    try {
      await once(s, 'connect')
      let text = ''
      s.on('data', (d) => (text += d.toString('latin1')))
      s.write('GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n')
      await once(s, 'end')
      assert.match(text, /^HTTP\/1\.1 200 OK\r\n/)
      const count = () => new Promise<number>((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))))
      await until('the server side of the connection closed', count, {ok: (n) => n === 0, timeoutMs: 3000})
    } finally {
      // a server that kept its side open would otherwise wait for this one to close it
      s.destroy()
    }
  })

  /** Answers `ok` as the proxy answers a small response (a Buffer: head and body in one write, held for the end of the turn). */
  const okBuffer: Parameters<typeof createDownstreamServer>[1] = (_req, res) => {
    res.writeHead(200, {'content-length': 2})
    res.end(Buffer.from('ok'))
  }

  test('an answer written in the turn the client ended its side still goes out before the server ends its own', async (t) => {
    // the answer is due on a timer while this process is blocked, and a client in another
    // process ends its side meanwhile: the next turn runs the timer (the answer), then reads the end
    const {port} = await bare(t, {
      handler: (_req, res) => {
        setTimeout(() => {
          res.writeHead(200, {'content-length': 2})
          res.end(Buffer.from('ok'))
        }, 200)
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600)
      },
    })
    const client = spawn(process.execPath, ['-e', `
      const s = require('net').connect({port: ${port}, host: '127.0.0.1', allowHalfOpen: true}, () => {
        s.write('GET / HTTP/1.1\\r\\nHost: a.test\\r\\n\\r\\n')
        setTimeout(() => s.end(), 200)
      })
      let text = ''
      s.on('data', (d) => (text += d.toString('latin1')))
      s.on('end', () => { process.stdout.write(text); process.exit(0) })
      s.on('error', (e) => { process.stdout.write('error ' + e.message); process.exit(0) })
      setTimeout(() => process.exit(0), 5000)
    `], {stdio: ['ignore', 'pipe', 'inherit']})
    t.after(() => client.kill())
    let text = ''
    client.stdout.on('data', (d) => (text += d.toString('latin1')))
    await once(client, 'exit')
    assert.deepEqual(responses(text).map((r) => [r.status, r.body]), [[200, 'ok']])
  })

  test('a CONNECT after a request answered in the same turn: the answer goes out, then the connection ends', async (t) => {
    const {port} = await bare(t, {handler: okBuffer})
    const r = await exchange(port, ['GET / HTTP/1.1\r\nHost: a.test\r\n\r\nCONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n'])
    assert.equal(r.closed, true)
    assert.deepEqual(responses(r.text).map((x) => [x.status, x.body]), [[200, 'ok']])
  })

  test('a request the parser refuses after one answered in the same turn: the answer first, then the refusal', async (t) => {
    const {port, errors} = await bare(t, {handler: okBuffer})
    const r = await exchange(port, ['GET / HTTP/1.1\r\nHost: a.test\r\n\r\nNOT HTTP AT ALL\r\n\r\n'])
    assert.equal(r.closed, true)
    assert.deepEqual(responses(r.text).map((x) => x.status), [200, 400])
    assert.equal(errors.length, 1)
  })

  for (const mode of READ_MODES) {
    test(`a handler or a body reader that throws fails its connection only, with a 400 (${mode})`, async (t) => {
      useReadMode(t, mode)
      const consumed: boolean[] = []
      const {port, errors} = await bare(t, {
        handler: (req, res) => {
          // whether the parser reads this socket itself (Node's http.Server does the same)
          consumed.push((req.socket as unknown as {_handle?: {_consumed?: boolean}})._handle?._consumed === true)
          if (req.url === '/boom') throw new Error('a bug in the handler')
          if (req.url === '/body') req.on('data', () => {
            throw new Error('a bug in the body reader')
          })
          else {
            res.writeHead(200, {'content-length': 2})
            res.end('ok')
          }
        },
      })
      const boom = await exchange(port, ['GET /boom HTTP/1.1\r\nHost: a.test\r\n\r\n'])
      assert.match(boom.text, /^HTTP\/1\.1 400 /)
      assert.equal(boom.closed, true)
      // the body comes in a read after the head: the reader runs from that read
      const body = await exchange(port, ['POST /body HTTP/1.1\r\nHost: a.test\r\nContent-Length: 4\r\n\r\n', 'abcd'], {gapMs: 100})
      assert.match(body.text, /^HTTP\/1\.1 400 /)
      assert.equal(body.closed, true)
      assert.deepEqual(errors, ['HPE_INTERNAL', 'HPE_INTERNAL'])
      // the server goes on: two requests on one connection
      const ok = await exchange(port, ['GET / HTTP/1.1\r\nHost: a.test\r\n\r\nGET / HTTP/1.1\r\nHost: a.test\r\n\r\n'], {until: (got) => responses(got).length === 2})
      assert.deepEqual(responses(ok.text).map((r) => [r.status, r.body]), [[200, 'ok'], [200, 'ok']])
      assert.deepEqual(consumed, Array(4).fill(mode === 'native reads'))
    })
  }

  test('a body given to end() arrives byte for byte, every byte value, small or large, Buffer or Uint8Array, pipelined', async (t) => {
    const bytes = (n: number) => Buffer.from(Array.from({length: n}, (_, i) => (i * 31 + 7) & 0xff))
    const bodies: Record<string, Buffer> = {'/small': bytes(256), '/large': bytes(40_000), '/empty': Buffer.alloc(0)}
    const {port} = await bare(t, {
      handler: (req, res) => {
        // Node's ServerResponse takes end(null) as end()
        if (req.url === '/null') return void res.end(null as unknown as undefined)
        const body = bodies[req.url!.replace('/u8', '')]
        res.writeHead(200, {'content-length': body.length})
        res.end(req.url!.startsWith('/u8') ? new Uint8Array(body.buffer, body.byteOffset, body.length) : body)
      },
    })
    const paths = ['/small', '/large', '/empty', '/u8/small', '/null', '/u8/large', '/small']
    const r = await exchange(port, [paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: a.test\r\n\r\n`).join('')], {until: (got) => responses(got).length === paths.length})
    const got = responses(r.text)
    assert.deepEqual(got.map((x) => x.status), paths.map(() => 200))
    got.forEach((x, i) => assert.ok(Buffer.from(x.body, 'latin1').equals(bodies[paths[i].replace('/u8', '')] ?? Buffer.alloc(0)), `${paths[i]}: the same bytes`))
    assert.match(got[4].head, /\r\nContent-Length: 0$/i)
  })

  test('a body slower than requestTimeout is refused', async (t) => {
    const {port, errors} = await bare(t, {headersTimeout: 5000, requestTimeout: 300})
    const r = await exchange(port, ['POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 100\r\n\r\n', ...'x'.repeat(60)], {gapMs: 20, waitMs: 3000})
    assert.equal(r.closed, true)
    assert.deepEqual(errors, ['ERR_HTTP_REQUEST_TIMEOUT'])
  })

  test('writeHead refuses a bad status code or reason phrase as Node\'s does, and writes nothing', async (t) => {
    const cases: Array<[number | string, string | undefined]> = [
      [200, 'OK\r\nX-Injected: 1'], [200, 'a\nb'], [200, 'a\rb'], [200, 'a\0b'], [200, 'a\x7fb'], [200, 'a\x01b'], [200, 'Ā'],
      [200, 'Fine \tthanks é'], [99, 'x'], [1000, undefined], [-1, 'x'], ['abc', 'x'], [200.7, 'ok'], [999, undefined],
    ]
    type Seen = {error: string | null; headersSent: boolean; statusCode: number; statusMessage: string}
    // each request tries one case, then answers what happened with a plain 200
    const handle = (req: {url?: string}, res: {writeHead(...a: unknown[]): unknown; headersSent: boolean; statusCode: number; statusMessage: string; end(b: string): unknown}) => {
      const [code, reason] = cases[Number(req.url!.slice(1))]
      let error: string | null = null
      try {
        if (reason === undefined) res.writeHead(code, {'x-case': '1'})
        else res.writeHead(code, reason, {'x-case': '1'})
      } catch (err) {
        const e = err as Error & {code?: string}
        error = `${e.name} ${e.code} ${e.message}`
      }
      // before any writeHead Node's statusMessage is undefined, ours ''
      const seen: Seen = {error, headersSent: res.headersSent, statusCode: res.statusCode, statusMessage: res.statusMessage ?? ''}
      if (error === null) return void res.end(JSON.stringify(seen))
      res.writeHead(200, 'Reported', {'content-type': 'application/json'})
      res.end(JSON.stringify(seen))
    }
    const {port} = await bare(t, {handler: handle as never})
    const node = createServer(handle as never)
    node.listen(0, '127.0.0.1')
    await once(node, 'listening')
    t.after(() => new Promise<void>((r) => {
      node.closeAllConnections()
      node.close(() => r())
    }))
    const nodePort = (node.address() as net.AddressInfo).port
    const errors: Array<string | null> = []
    for (let i = 0; i < cases.length; i++) {
      const ask = `GET /${i} HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n`
      const [ours, theirs] = await Promise.all([exchange(port, [ask]), exchange(nodePort, [ask])])
      assert.equal(normalized(ours.text), normalized(theirs.text), `case ${JSON.stringify(cases[i])}`)
      const [r] = responses(ours.text)
      const seen = JSON.parse(r.body) as Seen
      errors.push(seen.error)
      if (seen.error === null) continue
      // nothing of the refused head went out: the one response is the report's
      assert.equal(responses(ours.text).length, 1)
      assert.match(r.head, /^HTTP\/1\.1 200 Reported\r\n/)
      assert.doesNotMatch(r.head, /x-injected|x-case/i)
      assert.equal(seen.headersSent, false)
    }
    const badChar = 'TypeError ERR_INVALID_CHAR Invalid character in statusMessage'
    const badCode = (c: unknown) => `RangeError ERR_HTTP_INVALID_STATUS_CODE Invalid status code: ${c}`
    assert.deepEqual(errors, [badChar, badChar, badChar, badChar, badChar, badChar, badChar, null, badCode(99), badCode(1000), badCode(-1), badCode('abc'), null, null])
  })
})
