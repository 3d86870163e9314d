/**
 * A client that makes its request's body unreadable while the proxy buffers it (the
 * route's request buffering, or a plugin reading the body): not the gateway's error.
 * nginx, so Kong, logs "client prematurely closed connection" and "client sent invalid
 * chunked body" at info and answers a malformed body with 400; the node logs nothing at
 * error and keeps serving. On the proxy's own server in both read modes and on Node's.
 */
import assert from 'node:assert/strict'
import {once} from 'node:events'
import {createServer, type IncomingMessage} from 'node:http'
import net, {type AddressInfo} from 'node:net'
import {describe, test} from 'node:test'
import {createLogger} from '../../src/runtime/kit/log.js'
import {ClientBodyError, readBody, refuseBody} from '../../src/runtime/pdk/request-body.js'
import {plugin} from '../plugins/fixtures.js'
import {route, service} from '../router/fixtures.js'
import {until} from '../helpers/until.js'
import {FAST_SERVER_AVAILABLE, get, READ_MODES, startProxy, startUpstream, useReadMode, type Cleanup} from './helpers.js'

type ServerKind = 'fast' | 'node'

/** A proxy whose `/buffered` route buffers bodies before going upstream and whose `/plugin` route has a plugin read them; `lines` is what it logged at info and above. */
async function bodyProxy(t: Cleanup, kind: ServerKind) {
  const up = await startUpstream(t, 'a')
  const s = service({url: `http://127.0.0.1:${up.port}`})
  const buffered = route({paths: ['/buffered'], service: {id: s.id}})
  const reading = route({paths: ['/plugin'], service: {id: s.id}})
  const early = route({paths: ['/early'], service: {id: s.id}})
  const lines: string[] = []
  const saved = process.env.KCTL_NODE_HTTP_SERVER
  if (kind === 'node') process.env.KCTL_NODE_HTTP_SERVER = '1'
  else delete process.env.KCTL_NODE_HTTP_SERVER
  try {
    const {port} = await startProxy(t, {
      services: [s],
      routes: [buffered, reading, early],
      plugins: [plugin('request-termination', {status_code: 200, echo: true}, {route: reading.id}), plugin('request-termination', {status_code: 403, message: 'no'}, {route: early.id})],
    }, {log: createLogger({level: 'info', write: (l) => lines.push(l)})})
    return {port, up, lines}
  } finally {
    if (saved === undefined) delete process.env.KCTL_NODE_HTTP_SERVER
    else process.env.KCTL_NODE_HTTP_SERVER = saved
  }
}

/** Writes `bytes` on a new connection; resolves with what came back once the proxy closed it (or `destroy` after writing). */
async function send(port: number, bytes: string, {destroy = false} = {}): Promise<string> {
  const s = net.connect(port, '127.0.0.1')
  await once(s, 'connect')
  let text = ''
  s.on('data', (d) => (text += d.toString('latin1')))
  s.on('error', () => {})
  s.write(bytes)
  if (destroy) {
    // the proxy has the head and part of the body when the client goes
    await new Promise((r) => setTimeout(r, 100))
    s.destroy()
    return text
  }
  await once(s, 'close')
  return text
}

const chunkedHead = (path: string) => `POST ${path} HTTP/1.1\r\nHost: a.test\r\nAccept: application/json\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n`

const errorLines = (lines: string[]) => lines.filter((l) => /\[(error|crit|alert|emerg)\]/.test(l))


const CASES: Array<{server: ServerKind; mode: (typeof READ_MODES)[number]}> = [
  ...READ_MODES.map((mode) => ({server: 'fast' as const, mode})),
  {server: 'node', mode: 'native reads'},
]

describe('a client that breaks the body the proxy buffers', () => {
  for (const {server, mode} of CASES) {
    const skip = server === 'fast' && !FAST_SERVER_AVAILABLE ? "Node's internal parser is not usable here" : false
    for (const path of ['/buffered', '/plugin']) {
      test(`${server} server, ${mode}, ${path}: a client gone mid-body is logged at info, no answer, the node serves on`, {skip}, async (t) => {
        useReadMode(t, mode)
        const {port, up, lines} = await bodyProxy(t, server)
        const got = await send(port, `${chunkedHead(path)}5\r\nhello\r\n3\r\nab`, {destroy: true})
        assert.equal(got, '', 'nothing was answered before the client went')
        await until('the abort is logged', () => lines.find((l) => l.includes('client prematurely closed connection')), {timeoutMs: 3000, context: () => lines.join('\n')})
        const line = lines.find((l) => l.includes('client prematurely closed connection'))!
        assert.match(line, /\[info\] client prematurely closed connection/)
        assert.doesNotMatch(line, /\n|    at /, 'a short line, no stack')
        assert.deepEqual(errorLines(lines), [])
        assert.equal(up.hits(), 0, 'nothing went upstream')
        const after = await get(port, path, {method: 'POST', body: 'whole'})
        assert.equal(after.status, 200)
        assert.equal(path === '/plugin' ? after.json().request.raw_body : after.json().body, 'whole')
      })

      test(`${server} server, ${mode}, ${path}: a malformed chunk size is answered 400 Bad request and logged at info`, {skip}, async (t) => {
        useReadMode(t, mode)
        const {port, up, lines} = await bodyProxy(t, server)
        const got = await send(port, `${chunkedHead(path)}5\r\nhello\r\nzz\r\nmore\r\n0\r\n\r\n`)
        const head = got.slice(0, got.indexOf('\r\n\r\n'))
        const body = got.slice(got.indexOf('\r\n\r\n') + 4)
        assert.match(head, /^HTTP\/1\.1 400 Bad Request\r\n/)
        assert.match(head, /\r\nConnection: close$/i)
        assert.match(head, /\r\nContent-Type: application\/json; charset=utf-8(\r\n|$)/i)
        const requestId = /\r\nX-Kong-Request-Id: ([0-9a-f]{32})/i.exec(head)?.[1]
        assert.ok(requestId, head)
        assert.deepEqual(JSON.parse(body), {message: 'Bad request', request_id: requestId})
        assert.equal(got.indexOf('HTTP/1.1', 1), -1, 'one answer only')
        await until('the refusal is logged', () => lines.find((l) => l.includes('client sent invalid chunked body')))
        const line = lines.find((l) => l.includes('client sent invalid chunked body'))!
        assert.match(line, /\[info\] client sent invalid chunked body .*code=HPE_INVALID_CHUNK_SIZE/)
        assert.match(line, new RegExp(`request_id=${requestId}`))
        assert.deepEqual(errorLines(lines), [])
        assert.equal(up.hits(), 0, 'nothing went upstream')
        const after = await get(port, path, {method: 'POST', body: 'whole'})
        assert.equal(after.status, 200)
      })
    }
  }

  for (const {server, mode} of CASES) {
    const skip = server === 'fast' && !FAST_SERVER_AVAILABLE ? "Node's internal parser is not usable here" : false
    test(`${server} server, ${mode}: a request answered before its body was read, whose body then turns out malformed, has its connection closed`, {skip}, async (t) => {
      useReadMode(t, mode)
      const {port, lines} = await bodyProxy(t, server)
      const s = net.connect(port, '127.0.0.1')
      t.after(() => s.destroy())
      await once(s, 'connect')
      let text = ''
      s.on('data', (d) => (text += d.toString('latin1')))
      s.on('error', () => {})
      const closed = once(s, 'close')
      s.write(`${chunkedHead('/early')}5\r\nhello\r\n`)
      await until('the early answer', () => text.includes('{"message":"no"}'))
      assert.match(text, /^HTTP\/1\.1 403 Forbidden\r\n/)
      // the rest of the body, which the connection discards, is malformed
      s.write('zz\r\nmore\r\n0\r\n\r\n')
      const outcome = await Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(r, 3000, 'still open'))])
      assert.equal(outcome, 'closed', `the proxy closed the connection; it sent:\n${text}`)
      const second = text.indexOf('HTTP/1.1', 1)
      if (second !== -1) assert.match(text.slice(second), /^HTTP\/1\.1 400 Bad Request\r\n/)
      assert.deepEqual(errorLines(lines), [])
      assert.equal((await get(port, '/early')).status, 403, 'the node serves on')
    })
  }

  test('an error that is not the client\'s still logs at error, with its stack, and answers 500', async (t) => {
    const up = await startUpstream(t, 'a')
    const s = service({url: `http://127.0.0.1:${up.port}`})
    const r = route({paths: ['/'], service: {id: s.id}})
    const lines: string[] = []
    const {port} = await startProxy(t, {
      services: [s],
      routes: [r],
      // a template that fails to render: the plugin throws, after the body was read
      plugins: [plugin('request-transformer', {http_method: 'GET', add: {headers: ['x-a:$(query_params.missing.x)']}}, {route: r.id})],
    }, {log: createLogger({level: 'info', write: (l) => lines.push(l)})})
    const res = await get(port, '/', {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'}, body: 'a=1'})
    assert.equal(res.status, 500)
    const errors = errorLines(lines)
    assert.equal(errors.length, 1, lines.join('\n'))
    assert.match(errors[0], /\[error\] plugin request-transformer failed in access: Error: \[request-transformer\] failed to render the template/)
    assert.match(errors[0], /\n    at /, 'with its stack')
  })
})

describe('readBody', () => {
  /** A request read by Node's http.Server on a real connection, its body still coming. */
  async function pendingRequest(t: Cleanup): Promise<IncomingMessage> {
    const server = createServer()
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    t.after(() => new Promise<void>((r) => {
      server.closeAllConnections()
      server.close(() => r())
    }))
    const arrived = once(server, 'request') as Promise<[IncomingMessage]>
    const s = net.connect((server.address() as AddressInfo).port, '127.0.0.1')
    s.on('error', () => {})
    t.after(() => s.destroy())
    s.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc')
    return (await arrived)[0]
  }

  test('a client gone (Node\'s `aborted`, ECONNRESET) rejects as a ClientBodyError; another error as it is', async (t) => {
    const gone = await pendingRequest(t)
    const read = readBody(gone)
    gone.socket.destroy()
    const err = await read.then(() => null, (e: unknown) => e)
    assert.ok(err instanceof ClientBodyError, String(err))
    assert.equal(err.failure, 'closed')
    assert.equal(err.code, 'ECONNRESET')
    assert.equal(err.message, 'client prematurely closed connection')

    const failing = await pendingRequest(t)
    const other = Object.assign(new Error('not the client'), {code: 'ERR_SOMETHING'})
    const read2 = readBody(failing)
    failing.destroy(other)
    assert.equal(await read2.then(() => null, (e: unknown) => e), other)
    // destroyed before anyone read: a later read rejects at once
    assert.ok((await readBody(gone).then(() => null, (e: unknown) => e)) instanceof ClientBodyError)
  })

  test('a body the parser refused rejects a waiting read, and a later one, as malformed', async (t) => {
    const req = await pendingRequest(t)
    const waiting = readBody(req)
    const refused = refuseBody(req, Object.assign(new Error('Invalid character in chunk size'), {code: 'HPE_INVALID_CHUNK_SIZE'}))
    assert.equal(await waiting.then(() => null, (e: unknown) => e), refused)
    assert.equal(refused.failure, 'malformed')
    assert.equal(refused.code, 'HPE_INVALID_CHUNK_SIZE')
    assert.equal(await readBody(req).then(() => null, (e: unknown) => e), refused)
  })
})
