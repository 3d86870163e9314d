/**
 * Test helpers: real upstream servers on free ports, a proxy listening on 127.0.0.1,
 * a tiny HTTP client, and snapshots built from typed fixtures. Everything started here
 * registers its own cleanup with the test context.
 */
import {once} from 'node:events'
import {createServer, request, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import type {TestContext} from 'node:test'
import {silentLogger} from '../../src/runtime/kit/log.js'
import {downstreamServerKind} from '../../src/runtime/proxy/downstream/check.js'
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

export type Cleanup = {after(fn: () => unknown): void}

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

export function entities(e: Partial<EntitySet>): EntitySet {
  return toEntitySet(e)
}

/** A proxy on 127.0.0.1:<free port> serving `config`. */
export async function startProxy(t: Cleanup, config: Partial<EntitySet>, opts: Partial<Pick<ProxyOptions, 'drainMs' | 'log' | 'database' | 'headers' | 'realIp' | 'errorDefaultType' | 'trustedCertificates'>> = {}): Promise<{proxy: Proxy; port: number}> {
  const proxy = createProxy({log: opts.log ?? silentLogger, initial: buildSnapshot(entities(config)), drainMs: opts.drainMs, database: opts.database, headers: opts.headers, realIp: opts.realIp, errorDefaultType: opts.errorDefaultType, trustedCertificates: opts.trustedCertificates})
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

/** How sockets are read in a test: by the parser itself (the default) or through `data` events (`KCTL_NODE_NATIVE_READS=0`); restored after it. */
/** Whether the proxy's own HTTP/1.1 server can run on this Node (else it serves with `http.Server`). */
export const FAST_SERVER_AVAILABLE = (() => {
  const saved = process.env.KCTL_NODE_HTTP_SERVER
  delete process.env.KCTL_NODE_HTTP_SERVER
  const kind = downstreamServerKind()
  if (saved !== undefined) process.env.KCTL_NODE_HTTP_SERVER = saved
  return kind === 'fast'
})()

export const READ_MODES = ['native reads', 'data events'] as const
export function useReadMode(t: Cleanup, mode: (typeof READ_MODES)[number]): void {
  const saved = process.env.KCTL_NODE_NATIVE_READS
  if (mode === 'data events') process.env.KCTL_NODE_NATIVE_READS = '0'
  else delete process.env.KCTL_NODE_NATIVE_READS
  t.after(() => {
    if (saved === undefined) delete process.env.KCTL_NODE_NATIVE_READS
    else process.env.KCTL_NODE_NATIVE_READS = saved
  })
}

export type {TestContext}
