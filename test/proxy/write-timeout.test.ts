import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {once} from 'node:events'
import {request} from 'node:http'
import {createServer as createTcpServer, type AddressInfo, type Socket} from 'node:net'
import {describe, test, type TestContext} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import {route, service} from '../router/fixtures.js'
import {startProxy, startUpstream} from './helpers.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** Sends `chunks` (with a pause between them) and reads the whole answer. */
function post(port: number, path: string, chunks: Buffer[], opts: {chunked?: boolean; pauseMs?: number} = {}): Promise<{status: number; body: string}> {
  const total = chunks.reduce((n, c) => n + c.length, 0)
  return new Promise((resolve, reject) => {
    const req = request({host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: {accept: 'application/json', ...(opts.chunked ? {} : {'content-length': String(total)})}}, (res) => {
      const parts: Buffer[] = []
      res.on('data', (c) => parts.push(c))
      res.on('end', () => resolve({status: res.statusCode!, body: Buffer.concat(parts).toString()}))
    })
    req.on('error', reject)
    // A server that answers before reading everything may close the connection under the
    // writes (EPIPE); the answer, or the request's 'error' above, is what counts.
    void (async () => {
      for (const c of chunks) {
        if (!req.write(c)) await once(req, 'drain')
        if (opts.pauseMs) await sleep(opts.pauseMs)
      }
      req.end()
    })().catch(() => {})
  })
}

/** An upstream that answers the length and digest of the body it read. */
async function digestUpstream(t: TestContext) {
  return startUpstream(t, 'digest', (req, res) => {
    const parts: Buffer[] = []
    req.on('data', (c) => parts.push(c))
    req.on('end', () => {
      const body = Buffer.concat(parts)
      res.end(JSON.stringify({length: body.length, sha: sha(body)}))
    })
    return true
  })
}

/** A TCP server that accepts and never reads: the proxy's writes fill the socket buffers and stall. */
async function stuckUpstream(t: TestContext): Promise<number> {
  const sockets = new Set<Socket>()
  const stuck = createTcpServer((socket) => {
    sockets.add(socket)
    socket.pause()
  })
  stuck.listen(0, '127.0.0.1')
  await once(stuck, 'listening')
  t.after(() => {
    for (const s of sockets) s.destroy()
    stuck.close()
  })
  return (stuck.address() as AddressInfo).port
}

describe('proxy: request bodies and write_timeout', () => {
  test('large bodies reach the upstream intact, buffered or streamed, with a length or chunked', async (t) => {
    const up = await digestUpstream(t)
    const s = service({url: `http://127.0.0.1:${up.port}`, write_timeout: 2000})
    const {port} = await startProxy(t, {
      services: [s],
      routes: [route({paths: ['/buffered'], service: {id: s.id}}), route({paths: ['/streamed'], request_buffering: false, service: {id: s.id}})],
    })
    const body = randomBytes(3 * 1024 * 1024 + 17)
    const parts = [body.subarray(0, 1_000_000), body.subarray(1_000_000)]
    for (const path of ['/buffered', '/streamed']) {
      for (const chunked of [false, true]) {
        const r = await post(port, path, parts, {chunked})
        assert.equal(r.status, 200, `${path} chunked=${chunked}: ${r.body}`)
        assert.deepEqual(JSON.parse(r.body), {length: body.length, sha: sha(body)}, `${path} chunked=${chunked}`)
      }
    }
  })

  test('an upstream that stops reading the body answers 504 after write_timeout, not read_timeout', async (t) => {
    const s = service({host: '127.0.0.1', port: await stuckUpstream(t), write_timeout: 300, read_timeout: 30_000, retries: 0})
    const {port} = await startProxy(t, {services: [s], routes: [route({paths: ['/'], service: {id: s.id}})]})
    const started = performance.now()
    const r = await post(port, '/', [Buffer.alloc(48 * 1024 * 1024, 1)])
    const elapsed = performance.now() - started
    assert.equal(r.status, 504, r.body)
    assert.equal(JSON.parse(r.body).message, 'The upstream server is timing out')
    assert.ok(elapsed < 15_000, `answered after ${Math.round(elapsed)} ms, well before the 30 s read_timeout`)
  })

  test('a streamed body the upstream stops reading: the client still gets the 504 on its connection', async (t) => {
    const s = service({host: '127.0.0.1', port: await stuckUpstream(t), write_timeout: 300, read_timeout: 30_000, retries: 0})
    const {port} = await startProxy(t, {services: [s], routes: [route({paths: ['/'], request_buffering: false, service: {id: s.id}})]})
    const r = await post(port, '/', Array.from({length: 48}, () => Buffer.alloc(1024 * 1024, 2)))
    assert.equal(r.status, 504, r.body)
    assert.equal(JSON.parse(r.body).message, 'The upstream server is timing out')
  })

  test('nor a read timeout: read_timeout counts from the end of the body, as nginx\'s proxy_read_timeout', async (t) => {
    const up = await digestUpstream(t)
    const s = service({url: `http://127.0.0.1:${up.port}`, read_timeout: 200, retries: 0})
    const {port} = await startProxy(t, {services: [s], routes: [route({paths: ['/'], request_buffering: false, service: {id: s.id}})]})
    const parts = [randomBytes(1024), randomBytes(10)]
    const r = await post(port, '/', parts, {chunked: true, pauseMs: 600})
    assert.equal(r.status, 200, r.body)
    const all = Buffer.concat(parts)
    assert.deepEqual(JSON.parse(r.body), {length: all.length, sha: sha(all)})
  })

  test('a client slow to send a streamed body is not a write timeout', async (t) => {
    const up = await digestUpstream(t)
    const s = service({url: `http://127.0.0.1:${up.port}`, write_timeout: 200})
    const {port} = await startProxy(t, {services: [s], routes: [route({paths: ['/'], request_buffering: false, service: {id: s.id}})]})
    const parts = [randomBytes(300 * 1024), randomBytes(10), randomBytes(300 * 1024)]
    const r = await post(port, '/', parts, {pauseMs: 500})
    assert.equal(r.status, 200, r.body)
    const all = Buffer.concat(parts)
    assert.deepEqual(JSON.parse(r.body), {length: all.length, sha: sha(all)})
  })
})
