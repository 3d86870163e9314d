/**
 * What Kong's Admin API specs need to run against kctl: one real Admin API over a real
 * Postgres for a whole spec file (as Kong's `helpers.start_kong`), a client that encodes
 * bodies the way Kong's test client does (form-urlencoded with `a.b` keys, multipart,
 * JSON), `itContentTypes` (Kong's `it_content_types`: one test per content type) and a
 * small blueprint (`bp.consumers.insert()`…) that creates entities through the API.
 */
import {test} from 'node:test'
import {randomUUID} from 'node:crypto'
import {request} from 'node:http'
import {request as tlsRequest} from 'node:https'
import {startTestAdmin, type TestAdmin} from '../../helpers/gateway.js'
import {startTestPostgres, type TestPostgres} from '../../helpers/postgres.js'
import type {ProxyOptions} from '../../../src/runtime/proxy/server.js'

export type ContentType = 'application/x-www-form-urlencoded' | 'multipart/form-data' | 'application/json'
export const CONTENT_TYPES: ContentType[] = ['application/x-www-form-urlencoded', 'multipart/form-data', 'application/json']

export interface KongResponse {
  status: number
  text: string
  /** The parsed JSON body; undefined when empty or not JSON. */
  json: any
  headers: Headers
}

export interface SendOptions {
  body?: unknown
  /** Sent as is (no encoding): Kong's `client:request { body = "…" }`. */
  raw?: string
  headers?: Record<string, string>
  query?: Record<string, string | number | undefined>
}

/** `{config: {minute: 5}, paths: ['/a']}` → `config.minute=5&paths[1]=/a`, as Kong's test client encodes a table. */
export function flattenForm(body: Record<string, unknown>, prefix = '', out: [string, string][] = []): [string, string][] {
  for (const [k, v] of Object.entries(body)) {
    const key = prefix ? `${prefix}.${k}` : k
    if (v === undefined) continue
    if (Array.isArray(v)) v.forEach((x, i) => (x !== null && typeof x === 'object' ? flattenForm(x as Record<string, unknown>, `${key}[${i + 1}]`, out) : out.push([`${key}[${i + 1}]`, String(x)])))
    else if (v !== null && typeof v === 'object') flattenForm(v as Record<string, unknown>, key, out)
    else out.push([key, v === null ? '' : String(v)])
  }
  return out
}

export class KongClient {
  /** `url`: http:// or https:// (certificates are not verified). */
  constructor(readonly url: string) {}

  /** One request over node:http, so a GET may carry a body and no header is added behind our back. */
  async send(method: string, path: string, opts: SendOptions = {}): Promise<KongResponse> {
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k.toLowerCase()] = v
    const type = headers['content-type']
    let body: Buffer | undefined
    if (opts.raw !== undefined) body = Buffer.from(opts.raw)
    else if (opts.body !== undefined) {
      const b = opts.body as Record<string, unknown>
      if (type === 'application/x-www-form-urlencoded') body = Buffer.from(new URLSearchParams(flattenForm(b)).toString())
      else if (type === 'multipart/form-data') {
        // written by hand: FormData would turn a value's LF into CRLF (a PEM would change)
        const boundary = `----kong-spec-${randomUUID()}`
        const parts = flattenForm(b).map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
        headers['content-type'] = `multipart/form-data; boundary=${boundary}`
        body = Buffer.from(`${parts.join('')}--${boundary}--\r\n`)
      } else {
        body = Buffer.from(JSON.stringify(b))
        headers['content-type'] ??= 'application/json'
      }
    }
    if (body) headers['content-length'] = String(body.length)
    // as a browser or curl would send a raw UTF-8 path: percent-encoded
    let target = path.replace(/[^\x00-\x7f]/gu, (c) => encodeURIComponent(c))
    if (opts.query) {
      const q = new URLSearchParams(Object.entries(opts.query).filter((e): e is [string, string | number] => e[1] !== undefined).map(([k, v]) => [k, String(v)]))
      target += (path.includes('?') ? '&' : '?') + q.toString()
    }
    const u = new URL(this.url)
    return new Promise((resolve, reject) => {
      // an https:// client (Kong's `proxy_ssl_client`) takes the node's self-signed certificates
      const send = u.protocol === 'https:' ? tlsRequest : request
      const req = send({host: u.hostname, port: u.port, method, path: target, headers, rejectUnauthorized: false}, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', reject)
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let json: any
          try {
            json = text ? JSON.parse(text) : undefined
          } catch {
            json = undefined
          }
          const h = new Headers()
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v)
          resolve({status: res.statusCode ?? 0, text, json, headers: h})
        })
      })
      req.on('error', reject)
      req.end(body)
    })
  }

  get = (path: string, opts?: SendOptions) => this.send('GET', path, opts)
  post = (path: string, opts?: SendOptions) => this.send('POST', path, opts)
  put = (path: string, opts?: SendOptions) => this.send('PUT', path, opts)
  patch = (path: string, opts?: SendOptions) => this.send('PATCH', path, opts)
  delete = (path: string, opts?: SendOptions) => this.send('DELETE', path, opts)
}

/** Kong's `it_content_types(title, fn)`: the same test with each body encoding. */
export function itContentTypes(title: string, fn: (contentType: ContentType) => () => Promise<void>): void {
  const label: Record<ContentType, string> = {
    'application/x-www-form-urlencoded': 'application/www-form-urlencoded',
    'multipart/form-data': 'multipart/form-data',
    'application/json': 'application/json',
  }
  for (const ct of CONTENT_TYPES) test(`${title} with ${label[ct]}`, fn(ct))
}

let symbols = 0
/** Kong's `gensym()`: a fresh name containing a space (for the urlencoded cases). */
export const gensym = () => `abc def ${++symbols}`

/** A node for one spec file: its Admin API over a fresh database of a real Postgres. */
export interface SpecNode {
  client: KongClient
  admin: TestAdmin
  bp: Blueprint
  close(): Promise<void>
}

/**
 * `proxy`: the Admin API's node proxies too (its balancers' health is what `/health` shows),
 * with `proxyOptions` (its name resolution, for one).
 */
export async function startSpecNode(options: {proxy?: boolean; proxyOptions?: Partial<ProxyOptions>} = {}): Promise<SpecNode> {
  const pg: TestPostgres = await startTestPostgres()
  let admin: TestAdmin
  try {
    admin = await startTestAdmin(pg, {proxy: options.proxy, proxyOptions: options.proxyOptions})
  } catch (err) {
    await pg.stop()
    throw err
  }
  const client = new KongClient(admin.url)
  return {
    client,
    admin,
    bp: blueprint(client),
    async close() {
      await admin.close()
      await pg.stop()
    },
  }
}

let seq = 0
const n = () => `${++seq}-${randomUUID().slice(0, 8)}`

async function created(res: Promise<KongResponse>): Promise<any> {
  const r = await res
  if (r.status !== 201 && r.status !== 200) throw new Error(`blueprint insert failed: ${r.status} ${r.text}`)
  return r.json
}

/** Kong's blueprints (`spec/fixtures/blueprints.lua`): the same defaults, inserted through the Admin API. */
export function blueprint(client: KongClient) {
  const insert = (path: string, defaults: () => Record<string, unknown>) => (over: Record<string, unknown> = {}) =>
    created(client.post(path, {body: {...defaults(), ...over}}))
  return {
    consumers: {insert: insert('/consumers', () => ({username: `consumer-username-${n()}`, custom_id: `consumer-id-${n()}`}))},
    services: {insert: insert('/services', () => ({name: `service-${n()}`, protocol: 'http', host: '127.0.0.1', port: 15555}))},
    named_services: {insert: insert('/services', () => ({name: `service-name-${n()}`, protocol: 'http', host: `service-host-${n()}.test`, port: 15555}))},
    // Kong's route blueprint inserts a service for each route unless one is given
    routes: {insert: async (over: Record<string, unknown> = {}) => created(client.post('/routes', {body: {...(over.paths || over.methods ? {} : {hosts: [`example-${n()}.test`]}), service: over.service === undefined ? {id: (await created(client.post('/services', {body: {name: `service-${n()}`, host: '127.0.0.1', port: 15555}}))).id} : over.service, ...over}}))},
    named_routes: {insert: async (over: Record<string, unknown> = {}) => created(client.post('/routes', {body: {name: `route-name-${n()}`, ...(over.paths || over.methods ? {} : {hosts: [`example-${n()}.test`]}), ...over}}))},
    upstreams: {insert: insert('/upstreams', () => ({name: `upstream-${n()}.test`, slots: 100}))},
    targets: {
      insert: (over: {upstream: {id: string}} & Record<string, unknown>) =>
        created(client.post(`/upstreams/${over.upstream.id}/targets`, {body: {target: `${n().replace(/[^a-z0-9]/g, '')}.test:80`, weight: 10, ...over, upstream: undefined}})),
    },
    plugins: {insert: insert('/plugins', () => ({}))},
    certificates: {insert: (over: Record<string, unknown>) => created(client.post('/certificates', {body: over}))},
    snis: {insert: (over: Record<string, unknown>) => created(client.post('/snis', {body: over}))},
  }
}
export type Blueprint = ReturnType<typeof blueprint>
