/**
 * Stopping a node (SIGTERM to its supervisor, as `kctl stop` sends) drains as a reload does:
 * it stops accepting, answers the request in flight on a keep-alive connection with
 * `Connection: close` and closes that connection after it (no reset), and closes an idle
 * keep-alive connection cleanly.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import {connect, type AddressInfo, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {findFreePort} from '../../src/kit/ports.js'
import {until} from '../helpers/until.js'
import {killAll, spawnNode, type NodeProcess} from '../helpers/nodes.js'

/** A keep-alive connection spoken byte for byte: what arrived, and how it ended. */
function keepAlive(port: number): {socket: Socket; data: () => string; ended: Promise<{error: string | null}>} {
  const socket = connect(port, '127.0.0.1')
  let data = ''
  socket.setEncoding('latin1')
  socket.on('data', (d) => (data += d))
  const ended = new Promise<{error: string | null}>((resolve) => {
    let error: string | null = null
    socket.on('error', (err: NodeJS.ErrnoException) => (error = err.code ?? err.message))
    socket.on('close', () => resolve({error}))
  })
  return {socket, data: () => data, ended}
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`
const responses = (data: string) => data.split(/(?=HTTP\/1\.1 )/).filter(Boolean)

describe('stopping a node drains its keep-alive connections', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kctl-stop-drain-'))
  let upstream: Server
  let node: NodeProcess
  let port: number
  let slowArrived = false

  before(async () => {
    upstream = createServer((req, res) => {
      if (req.url === '/slow') {
        slowArrived = true
        setTimeout(() => res.end('slow done'), 1500)
      } else res.end('fast')
    })
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
    const config = join(dir, 'kong.yml')
    writeFileSync(config, `_format_version: "3.0"\nservices:\n  - name: up\n    url: http://127.0.0.1:${(upstream.address() as AddressInfo).port}\n    routes:\n      - name: r\n        paths: ["/"]\n`)
    const statusPort = await findFreePort()
    port = await findFreePort()
    node = spawnNode(dir, {database: 'off', declarative_config: config, proxy_listen: `127.0.0.1:${port}`, status_listen: `127.0.0.1:${statusPort}`, admin_listen: 'off'}, {status: `http://127.0.0.1:${statusPort}`})
    await node.waitReady()
  })
  after(() => {
    killAll()
    upstream?.close()
    rmSync(dir, {recursive: true, force: true})
  })

  test('the request in flight is answered with Connection: close, then its connection ends without a reset; an idle one is closed cleanly', async () => {
    const busy = keepAlive(port)
    const idle = keepAlive(port)
    busy.socket.write(get('/fast'))
    idle.socket.write(get('/fast'))
    await until('both connections served once', () => responses(busy.data()).length === 1 && responses(idle.data()).length === 1 && idle.data().endsWith('fast'))
    assert.match(busy.data(), /\r\nConnection: keep-alive\r\n/i, 'a keep-alive connection to begin with')
    busy.socket.write(get('/slow'))
    await until('the slow request to reach the upstream', () => slowArrived)
    process.kill(node.proc.pid!, 'SIGTERM')
    const [b, i] = await Promise.all([busy.ended, idle.ended])
    assert.equal(b.error, null, 'no reset on the connection with a request in flight')
    const last = responses(busy.data())[1] ?? ''
    assert.match(last, /^HTTP\/1\.1 200 /, `the request in flight was answered: ${JSON.stringify(busy.data())}`)
    assert.match(last, /\r\nConnection: close\r\n/i, 'its response says Connection: close')
    assert.ok(last.endsWith('slow done'))
    assert.equal(i.error, null, 'the idle connection is closed without a reset')
    assert.equal(await node.exited, 0)
  })
})
