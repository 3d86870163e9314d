/**
 * What Kong's plugin specs need to run against kctl: a node as `helpers.start_kong` gives
 * them (an Admin API over a real Postgres, and its proxy listening on a free loopback
 * port, rebuilt on every write), Kong's mock upstream (`spec/fixtures/mock_upstream.lua`:
 * `/request`, `/status/{code}`, `/response-headers`, answering what it received as JSON;
 * `/respond`, answering the headers and body the request asks for)
 * and a blueprint whose services point at that upstream, as Kong's do.
 */
import {once} from 'node:events'
import {randomUUID} from 'node:crypto'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {createServer as createTlsServer} from 'node:https'
import {isIP, type AddressInfo} from 'node:net'
import {generateSelfSigned} from '../../../src/pki/self-signed-rsa.js'
import {startTestAdmin, type TestAdmin} from '../../helpers/gateway.js'
import type {ProxyOptions} from '../../../src/runtime/proxy/server.js'
import {startTestPostgres, type TestPostgres} from '../../helpers/postgres.js'
import {deadPort} from '../../proxy/helpers.js'
import {KongClient, type KongResponse} from '../admin-api/kong-client.js'

/** What the mock upstream answers: Kong's `get_default_json_response()`. */
export interface MockEcho {
  method: string
  headers: Record<string, string | string[]>
  uri_args: Record<string, string | string[]>
  post_data: {text: string; kind: string; params?: Record<string, unknown>; error?: string}
  url: string
  vars: {request_uri: string; uri: string; scheme: string; host: string; server_port: number; request_method: string; remote_addr: string}
}

/**
 * The client's address as Kong's mock upstream sees it: its server block has
 * `set_real_ip_from 127.0.0.1` with nginx's default `real_ip_header X-Real-IP`, so a
 * request from the gateway on loopback shows the X-Real-IP the gateway sent.
 */
function remoteAddr(req: IncomingMessage): string {
  const socket = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '')
  const real = req.headers['x-real-ip']
  return socket === '127.0.0.1' && typeof real === 'string' && isIP(real.trim()) ? real.trim() : socket
}

export interface MockUpstream {
  port: number
  /** Requests that reached the upstream. */
  hits(): number
  close(): Promise<void>
}

async function postData(req: IncomingMessage, raw: Buffer): Promise<MockEcho['post_data']> {
  const text = raw.toString('utf8')
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
  try {
    if (type === 'application/json') return {text, kind: 'json', params: text ? JSON.parse(text) : {}}
    if (type === 'application/x-www-form-urlencoded') return {text, kind: 'form', params: args(new URLSearchParams(text))}
    if (type === 'multipart/form-data') {
      const form = await new Response(new Uint8Array(raw), {headers: {'content-type': req.headers['content-type']!}}).formData()
      const params: Record<string, unknown> = {}
      for (const [k, v] of form) params[k] = typeof v === 'string' ? v : await v.text()
      return {text, kind: 'multipart-form', params}
    }
  } catch (err) {
    // Kong's mock upstream: `json (error)` for a JSON body it cannot parse
    return {text, kind: type === 'application/json' ? 'json (error)' : type, error: String(err)}
  }
  return {text, kind: 'unknown'}
}

const args = (q: URLSearchParams): Record<string, string | string[]> => {
  const out: Record<string, string | string[]> = {}
  for (const [k, v] of q) out[k] = k in out ? ([] as string[]).concat(out[k], v) : v
  return out
}

/**
 * The paths Kong's mock upstream serves (its nginx locations in
 * spec/fixtures/template_inject/nginx_kong_test_custom_inject_http.lua); any other path is
 * a 404 with the same JSON, when `kongPaths` asks for that.
 */
const KONG_MOCK_PATHS = /^(\/|\/ws|\/get.*|\/xml.*|\/post.*|\/response-headers|\/hop-by-hop|\/respond|\/cache\/\d+|\/basic-auth\/[a-zA-Z0-9_]+\/.+|\/(request|anything).*|\/delay\/\d{1,3}|\/status\/\d{3}|\/stream\/\d+|\/echo_sni)$/
const BASIC_AUTH = /^\/basic-auth\/([a-zA-Z0-9_]+)\/(.+)$/

export interface MockUpstreamOptions {
  /** Answer as Kong's mock upstream does: 404 for a path it has no location for, 401 from `/basic-auth/{user}/{password}` without those credentials. By default every path is echoed with a 200. */
  kongPaths?: boolean
  /** Kong's `mock_upstream_ssl_*`: the same answers over TLS, a self-signed certificate. */
  ssl?: boolean
}

export async function startMockUpstream(opts: MockUpstreamOptions = {}): Promise<MockUpstream> {
  let hits = 0
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    hits++
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const url = req.url ?? '/'
    const at = url.indexOf('?')
    const path = at < 0 ? url : url.slice(0, at)
    const query = new URLSearchParams(at < 0 ? '' : url.slice(at + 1))
    const port = (server.address() as AddressInfo).port
    const echo: MockEcho = {
      method: req.method!,
      headers: req.headers as Record<string, string | string[]>,
      uri_args: args(query),
      post_data: await postData(req, Buffer.concat(chunks)),
      url: `http://${req.headers.host ?? '127.0.0.1'}${url}`,
      vars: {request_uri: url, uri: decodeURIComponent(path), scheme: opts.ssl ? 'https' : 'http', host: '127.0.0.1', server_port: port, request_method: req.method!, remote_addr: remoteAddr(req)},
    }
    if (path === '/hop-by-hop') {
      // Kong's fixture (custom nginx template): hop-by-hop response headers, a chunked body
      res.writeHead(200, [
        'Keep-Alive', 'timeout=5, max=1000', 'Proxy', 'Remove-Me', 'Proxy-Connection', 'close',
        'Proxy-Authenticate', 'Basic', 'Proxy-Authorization', 'Basic YWxhZGRpbjpvcGVuc2VzYW1l',
        'TE', 'trailers, deflate;q=0.5', 'Trailer', 'Expires', 'Upgrade', 'example/1, foo/2',
      ])
      res.end('hello\r\n\r\nExpires: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\n')
      return
    }
    if (path === '/respond') {
      // what a spec's upstream answers, chosen by the request: the response header lines
      // (`x-respond-headers`: a JSON list of [name, value] pairs, a name repeated for
      // several lines) and body (`x-respond-body`, base64, else the request's own body),
      // with its Content-Length
      const lines = JSON.parse(String(req.headers['x-respond-headers'] ?? '[["Content-Type","application/json"]]')) as [string, string][]
      const given = req.headers['x-respond-body']
      const out = typeof given === 'string' ? Buffer.from(given, 'base64') : Buffer.concat(chunks)
      res.writeHead(200, [...lines.flat(), 'Content-Length', String(out.length)])
      res.end(out)
      return
    }
    const status = /^\/status\/(\d{3})$/.exec(path)
    const headers: Record<string, string> = {'content-type': 'application/json', server: 'mock-upstream'}
    if (opts.kongPaths) {
      const auth = BASIC_AUTH.exec(path)
      const expected = auth && 'Basic ' + Buffer.from(`${auth[1]}:${auth[2]}`).toString('base64')
      if (!KONG_MOCK_PATHS.test(path) || (auth && req.headers.authorization !== expected)) {
        res.writeHead(auth ? 401 : 404, headers)
        res.end(JSON.stringify(echo))
        return
      }
    }
    if (path === '/response-headers') for (const [k, v] of query) headers[k] = v
    res.writeHead(status ? Number(status[1]) : 200, headers)
    res.end(status && Number(status[1]) === 204 ? undefined : JSON.stringify(status ? {...echo, code: Number(status[1])} : echo))
  }
  const server: Server = opts.ssl ? (createTlsServer(generateSelfSigned(), handler) as unknown as Server) : createServer(handler)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: (server.address() as AddressInfo).port,
    hits: () => hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

/** A node for one plugin spec file: Admin API, listening proxy, mock upstream. */
export interface PluginSpecNode {
  admin: KongClient
  /** With `ssl`: the proxy's TLS listener (its default self-signed certificate). */
  proxySslPort?: number
  /** Kong's `helpers.proxy_client()`: requests to the proxy (set `host` to pick a route). */
  proxy: KongClient
  proxyPort: number
  /** The node's database. */
  pool: TestAdmin['pool']
  upstream: MockUpstream
  bp: PluginBlueprint
  close(): Promise<void>
}

/** `proxyOptions`: the node's kong.conf proxy settings (`trusted_ips`, `headers`, …) as `proxyOptionsOf` makes them. */
export interface SpecNodeOptions {
  /** The mock upstream answers as Kong's for paths it does not serve (MockUpstreamOptions). */
  kongMockPaths?: boolean
  /** The proxy listens on a second loopback port with TLS too (`proxySslPort`). */
  ssl?: boolean
}

export async function startPluginSpecNode(proxyOptions: Partial<ProxyOptions> = {}, nodeOptions: SpecNodeOptions = {}): Promise<PluginSpecNode> {
  const pg: TestPostgres = await startTestPostgres()
  let api: TestAdmin | undefined
  let upstream: MockUpstream | undefined
  try {
    api = await startTestAdmin(pg, {proxy: true, proxyOptions})
    upstream = await startMockUpstream({kongPaths: nodeOptions.kongMockPaths})
    const port = await deadPort()
    await api.proxy!.listen([{host: '127.0.0.1', port, ssl: false, http2: false, reuseport: false, flags: []}])
    const sslPort = nodeOptions.ssl ? await deadPort() : undefined
    if (sslPort) await api.proxy!.listen([{host: '127.0.0.1', port: sslPort, ssl: true, http2: false, reuseport: false, flags: []}])
    const admin = new KongClient(api.url)
    return {
      admin,
      proxy: new KongClient(`http://127.0.0.1:${port}`),
      proxyPort: port,
      proxySslPort: sslPort,
      pool: api.pool,
      upstream,
      bp: pluginBlueprint(admin, upstream.port),
      async close() {
        await upstream!.close()
        await api!.close()
        await pg.stop()
      },
    }
  } catch (err) {
    await upstream?.close()
    await api?.close()
    await pg.stop()
    throw err
  }
}

let seq = 0
const n = () => `${++seq}-${randomUUID().slice(0, 8)}`

async function created(res: Promise<KongResponse>): Promise<any> {
  const r = await res
  if (r.status !== 201 && r.status !== 200) throw new Error(`blueprint insert failed: ${r.status} ${r.text}`)
  return r.json
}

/**
 * Kong's blueprints for plugin specs, inserted through the Admin API: a route without a
 * service gets a new one pointing at the mock upstream, as Kong's does.
 */
export function pluginBlueprint(client: KongClient, upstreamPort: number) {
  const service = (over: Record<string, unknown> = {}) =>
    created(client.post('/services', {body: {name: `service-${n()}`, protocol: 'http', host: '127.0.0.1', port: upstreamPort, ...over}}))
  return {
    services: {insert: service},
    routes: {
      insert: async (over: Record<string, unknown> = {}) =>
        created(client.post('/routes', {body: {...over, service: over.service === undefined ? {id: (await service()).id} : {id: (over.service as {id: string}).id}}})),
    },
    consumers: {insert: (over: Record<string, unknown> = {}) => created(client.post('/consumers', {body: {username: `consumer-${n()}`, ...over}}))},
    plugins: {insert: (over: Record<string, unknown>) => created(client.post('/plugins', {body: over}))},
    /** `/consumers/{id}/{plugin}` credentials: key-auth, basic-auth, acls. */
    credentials: {insert: (kind: 'key-auth' | 'basic-auth' | 'acls', consumer: {id: string}, over: Record<string, unknown> = {}) => created(client.post(`/consumers/${consumer.id}/${kind}`, {body: over}))},
  }
}
export type PluginBlueprint = ReturnType<typeof pluginBlueprint>

/** The body text when the status is the expected one, else an assertion error showing both. */
export function resStatus(expected: number, res: KongResponse): string {
  if (res.status !== expected) throw new Error(`expected status ${expected}, got ${res.status}: ${res.text}`)
  return res.text
}
