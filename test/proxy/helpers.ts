/**
 * Test helpers: real upstream servers on free ports, a proxy listening on 127.0.0.1,
 * a tiny HTTP client, and snapshots built from typed fixtures. Everything started here
 * registers its own cleanup with the test context.
 */
import {spawn} from 'node:child_process'
import {once} from 'node:events'
import {connect, type Socket} from 'node:net'
import {createServer, request, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import type {TestContext} from 'node:test'
import {silentLogger} from '../../src/runtime/log.js'
import {createProxy, type Proxy, type ProxyOptions} from '../../src/runtime/proxy/server.js'
import {buildSnapshot, type EntitySet} from '../../src/runtime/proxy/snapshot.js'
import {toEntitySet} from '../../src/runtime/schema/registry.js'

export interface Echo {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
  upstream: string
}

type Cleanup = {after(fn: () => unknown): void}

/** An upstream answering JSON describing what it received; `name` tells which one. */
export async function startUpstream(t: Cleanup, name: string, handle?: (req: IncomingMessage, res: ServerResponse) => boolean | void): Promise<{port: number; server: Server; hits: () => number}> {
  let hits = 0
  const server = createServer((req, res) => {
    hits++
    if (handle?.(req, res)) return
    const chunks: Buffer[] = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const echo: Echo = {method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString(), upstream: name}
      res.writeHead(200, {'content-type': 'application/json', server: `upstream-${name}`})
      res.end(JSON.stringify(echo))
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => new Promise<void>((r) => {
    server.closeAllConnections()
    server.close(() => r())
  }))
  return {port: (server.address() as AddressInfo).port, server, hits: () => hits}
}

/** A port nobody listens on (bound then released). */
export async function deadPort(): Promise<number> {
  const s = createServer()
  s.listen(0, '127.0.0.1')
  await once(s, 'listening')
  const port = (s.address() as AddressInfo).port
  await new Promise((r) => s.close(r))
  return port
}

// Listens with a backlog of 1, reports its port, then blocks its event loop so it never
// accepts (and exits on its own after two minutes should nobody kill it).
const BLACKHOLE = `const s = require('node:net').createServer()
s.listen({port: 0, host: '127.0.0.1', backlog: 1}, () => {
  require('node:fs').writeSync(1, s.address().port + '\\n')
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120000)
  process.exit(0)
})`

/**
 * A port where a TCP connect hangs until the client gives up: a real node process
 * listens there but never accepts, and connections from here fill its accept queue,
 * after which Linux drops every further SYN. A loopback connect timeout without
 * touching the firewall or routing.
 */
export async function startBlackhole(t: Cleanup): Promise<{port: number}> {
  const child = spawn(process.execPath, ['-e', BLACKHOLE], {stdio: ['ignore', 'pipe', 'inherit']})
  const fillers: Socket[] = []
  t.after(() => {
    for (const s of fillers) s.destroy()
    child.kill('SIGKILL')
  })
  const [first] = (await once(child.stdout!, 'data')) as [Buffer]
  const port = Number(first.toString().trim())
  for (let i = 0; i < 8; i++) {
    const s = connect(port, '127.0.0.1')
    s.on('error', () => {})
    fillers.push(s)
    const connected = await Promise.race([once(s, 'connect').then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 500))])
    if (!connected) return {port} // this SYN was dropped: the queue is full
  }
  throw new Error(`the accept queue of 127.0.0.1:${port} never filled`)
}

export function entities(e: Partial<EntitySet>): EntitySet {
  return toEntitySet(e)
}

/** A proxy on 127.0.0.1:<free port> serving `config`. */
export async function startProxy(t: Cleanup, config: Partial<EntitySet>, opts: Partial<Pick<ProxyOptions, 'drainMs' | 'log' | 'database' | 'headers' | 'realIp' | 'errorDefaultType'>> = {}): Promise<{proxy: Proxy; port: number}> {
  const proxy = createProxy({log: opts.log ?? silentLogger, initial: buildSnapshot(entities(config)), drainMs: opts.drainMs, database: opts.database, headers: opts.headers, realIp: opts.realIp, errorDefaultType: opts.errorDefaultType})
  const port = await deadPort()
  await proxy.listen([{host: '127.0.0.1', port, ssl: false, http2: false, reuseport: false, flags: []}])
  t.after(() => proxy.close())
  return {proxy, port}
}

export interface Reply {
  status: number
  headers: IncomingMessage['headers']
  body: string
  json(): any
}

export function get(port: number, path: string, opts: {method?: string; headers?: Record<string, string>; body?: string} = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: false}, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString()
        resolve({status: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body)})
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

export type {TestContext}
