/**
 * Kong's spec/02-integration/05-proxy/25-upstream_keepalive_spec.lua (3.9), ported: the same
 * describe/it titles, against a real node (Admin API over Postgres) and a real TLS upstream
 * (Kong's mock upstream's `/echo_sni`: `SNI=<the server name the client sent>`).
 *
 * Kong reads what nginx's keepalive module logs at debug level ("keepalive create pool",
 * "saving connection", "reusing connection", "free pool"). kctl's pools log nothing per
 * connection: the port checks the same facts where they show, at the upstream — how many
 * connections it was opened, which server name each carried, which stayed open after the
 * response (saved in a pool) and which were closed (not saved). Each case starts a proxy
 * with its `upstream_keepalive_*` settings over the node's database (proxy-node.ts), so its
 * pools start empty, as Kong's restart does.
 */
import assert from 'node:assert/strict'
import {once} from 'node:events'
import {createServer, type Server} from 'node:https'
import type {AddressInfo} from 'node:net'
import type {TLSSocket} from 'node:tls'
import {after, afterEach, before, describe, test as it} from 'node:test'
import {KONG_KEEPALIVE} from '../../../src/runtime/proxy/upstream/types.js'
import {until} from '../../helpers/until.js'
import {ssl} from '../fixtures/ssl.js'
import {resStatus, startPluginSpecNode, type PluginSpecNode} from '../plugins/kong-proxy.js'
import {proxyWith, type ExtraProxy} from './proxy-node.js'

/** Node sets it on a server-side socket; its types leave it out. */
const serverName = (s: TLSSocket) => String((s as TLSSocket & {servername?: string | false}).servername || '')

/**
 * A TLS upstream answering `/echo_sni`, and `/` with the fingerprint of the client
 * certificate the connection presented (Kong's mTLS fixture echoes `$ssl_client_fingerprint`);
 * it counts the connections it was opened and the ones still open.
 */
async function startTlsUpstream() {
  const open = new Set<TLSSocket>()
  const names: string[] = []
  const server: Server = createServer({cert: ssl.cert, key: ssl.key, requestCert: true, rejectUnauthorized: false}, (req, res) => {
    const socket = req.socket as TLSSocket
    res.writeHead(200, {'content-type': 'text/plain'})
    res.end(req.url === '/echo_sni' ? `SNI=${serverName(socket)}` : (socket.getPeerCertificate().fingerprint256 ?? ''))
  })
  server.on('secureConnection', (s: TLSSocket) => {
    open.add(s)
    names.push(serverName(s))
    s.on('close', () => open.delete(s))
  })
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: (server.address() as AddressInfo).port,
    /** The server names of the connections opened so far, in order. */
    names,
    open: () => open.size,
    reset() {
      names.length = 0
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

describe('#postgres upstream keepalive', () => {
  let node: PluginSpecNode
  let upstream: Awaited<ReturnType<typeof startTlsUpstream>>
  let p: ExtraProxy | undefined

  before(async () => {
    node = await startPluginSpecNode()
    upstream = await startTlsUpstream()
    const bp = node.bp
    const tlsService = () => bp.services.insert({protocol: 'https', host: 'localhost', port: upstream.port})
    // upstream TLS
    for (const host of ['one.test', 'two.test']) await bp.routes.insert({hosts: [host], preserve_host: true, service: {id: (await tlsService()).id}})
    // crc32 collision upstream TLS
    for (const host of ['plumless.xxx', 'buckeroo.xxx']) await bp.routes.insert({hosts: [host], preserve_host: true, service: {id: (await tlsService()).id}})
    // upstream mTLS (Kong's fixture client certificates: two certificates of its ssl fixtures here)
    for (const [host, cert, key] of [['example.test', ssl.cert, ssl.key], ['example2.test', ssl.cert_alt, ssl.key_alt]]) {
      const certificate = JSON.parse(resStatus(201, await node.admin.post('/certificates', {body: {cert, key}})))
      const service = JSON.parse(resStatus(201, await node.admin.post('/services', {body: {url: `https://127.0.0.1:${upstream.port}/`, client_certificate: {id: certificate.id}}})))
      await bp.routes.insert({hosts: [host], service: {id: service.id}})
    }
  })
  after(async () => {
    await upstream?.close()
    await node?.close()
  })
  afterEach(async () => {
    await p?.close()
    p = undefined
    // the proxy's pools closed: the upstream sees their connections go
    await until('the upstream connections closed', () => upstream.open() === 0)
    upstream.reset()
  })

  /** Kong's `start_kong(opts)`: a proxy with these keepalive settings, its pools empty. */
  const startKong = async (keepalive: Partial<typeof KONG_KEEPALIVE> = {}) => {
    p = await proxyWith(node, {keepalive: {...KONG_KEEPALIVE, ...keepalive}})
  }
  const echoSni = async (host: string) => resStatus(200, await p!.proxy.get('/echo_sni', {headers: {Host: host}}))

  it('pools by host|port|sni when upstream is https', async () => {
    await startKong()
    assert.equal(await echoSni('one.test'), 'SNI=one.test')
    assert.equal(await echoSni('two.test'), 'SNI=two.test')
    // a pool per host|port|sni ("keepalive create pool" twice), each connection saved in its
    // pool after the response ("saving connection" twice, no "free pool")
    assert.deepEqual(upstream.names, ['one.test', 'two.test'])
    assert.equal(upstream.open(), 2)
  })

  it('pools by host|port|sni|client_cert_id when upstream requires mTLS', async () => {
    await startKong()
    const fingerprint1 = resStatus(200, await p!.proxy.get('/', {headers: {Host: 'example.test'}}))
    assert.notEqual(fingerprint1, '')
    const fingerprint2 = resStatus(200, await p!.proxy.get('/', {headers: {Host: 'example2.test'}}))
    assert.notEqual(fingerprint2, '')
    assert.notEqual(fingerprint1, fingerprint2)
    // a pool per client certificate (the same host, port and server name), each connection saved
    assert.deepEqual(upstream.names, ['', ''])
    assert.equal(upstream.open(), 2)
  })

  it('upstream_keepalive_pool_size = 0 disables connection pooling', async () => {
    await startKong({poolSize: 0})
    assert.equal(await echoSni('one.test'), 'SNI=one.test')
    // no pool: the connection is not kept
    await until('the connection closed', () => upstream.open() === 0)
    assert.equal(await echoSni('two.test'), 'SNI=two.test')
    await until('the connection closed', () => upstream.open() === 0)
    assert.deepEqual(upstream.names, ['one.test', 'two.test'])
  })

  it('reuse upstream keepalive pool', async () => {
    await startKong()
    assert.equal(await echoSni('one.test'), 'SNI=one.test')
    assert.equal(upstream.open(), 1) // saved
    assert.equal(await echoSni('one.test'), 'SNI=one.test')
    // the second request reused the saved connection, and saved it again
    assert.deepEqual(upstream.names, ['one.test'])
    assert.equal(upstream.open(), 1)
  })

  it('free upstream keepalive pool', async () => {
    await startKong({maxRequests: 1})
    assert.equal(await echoSni('one.test'), 'SNI=one.test')
    // "not saving connection": its one request done, the connection is closed
    await until('the connection closed', () => upstream.open() === 0)
    assert.deepEqual(upstream.names, ['one.test'])
  })

  // ensure same crc32 names don't hit same keepalive pool
  it('pools with crc32 collision', async () => {
    await startKong()
    assert.equal(await echoSni('plumless.xxx'), 'SNI=plumless.xxx')
    assert.equal(await echoSni('buckeroo.xxx'), 'SNI=buckeroo.xxx')
    // two pools (kctl keys pools by the whole name, no checksum), two saved connections
    assert.deepEqual(upstream.names, ['plumless.xxx', 'buckeroo.xxx'])
    assert.equal(upstream.open(), 2)
  })
})
