import assert from 'node:assert/strict'
import {request} from 'node:https'
import {connect} from 'node:tls'
import {describe, test} from 'node:test'
import {silentLogger} from '../../src/runtime/kit/log.js'
import {generateSelfSigned} from '../../src/pki/self-signed-rsa.js'
import {createProxy} from '../../src/runtime/proxy/server.js'
import {buildSnapshot} from '../../src/runtime/proxy/snapshot.js'
import {certificate, route, service, sni} from '../router/fixtures.js'
import {deadPort, entities, startUpstream} from './helpers.js'

/** Connects with a server name and answers the CN of the certificate the server sent. */
function servedCN(port: number, servername?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({host: '127.0.0.1', port, servername, rejectUnauthorized: false}, () => {
      const cn = s.getPeerCertificate().subject?.CN
      s.end()
      resolve(String(cn))
    })
    s.on('error', reject)
  })
}

describe('proxy: TLS', () => {
  test('serves the certificate matching the SNI: exact, wildcards, default', async (t) => {
    const exact = certificate(generateSelfSigned('api.example.com'))
    const wildPrefix = certificate(generateSelfSigned('wild-prefix'))
    const wildSuffix = certificate(generateSelfSigned('wild-suffix'))
    const upstreamSrv = await startUpstream(t, 'a')
    const s = service({url: `http://127.0.0.1:${upstreamSrv.port}`})
    const config = entities({
      certificates: [exact, wildPrefix, wildSuffix],
      snis: [
        sni({name: 'api.example.com', certificate: {id: exact.id}}),
        sni({name: '*.example.com', certificate: {id: wildPrefix.id}}),
        sni({name: 'shop.example.*', certificate: {id: wildSuffix.id}}),
      ],
      services: [s],
      routes: [route({protocols: ['https'], paths: ['/'], snis: ['api.example.com'], service: {id: s.id}})],
    })
    const proxy = createProxy({log: silentLogger, initial: buildSnapshot(config), defaultCertificate: generateSelfSigned('default.kctl')})
    t.after(() => proxy.close())
    const port = await deadPort()
    await proxy.listen([{host: '127.0.0.1', port, ssl: true, http2: false, reuseport: false, flags: ['ssl']}])

    assert.equal(await servedCN(port, 'api.example.com'), 'api.example.com')
    assert.equal(await servedCN(port, 'API.example.com'), 'api.example.com')
    assert.equal(await servedCN(port, 'other.example.com'), 'wild-prefix')
    // as Kong: the suffix wildcard replaces only the last label (shop.example.org → shop.example.*)
    assert.equal(await servedCN(port, 'shop.example.org'), 'wild-suffix')
    assert.equal(await servedCN(port, 'unknown.test'), 'default.kctl')
    assert.equal(await servedCN(port), 'default.kctl')

    // an https request over TLS reaches the upstream with X-Forwarded-Proto https
    const body = await new Promise<string>((resolve, reject) => {
      const req = request({host: '127.0.0.1', port, path: '/hello', servername: 'api.example.com', rejectUnauthorized: false, agent: false}, (res) => {
        let b = ''
        res.on('data', (c) => (b += c))
        res.on('end', () => resolve(b))
      })
      req.on('error', reject)
      req.end()
    })
    const echo = JSON.parse(body)
    assert.equal(echo.headers['x-forwarded-proto'], 'https')
    assert.equal(echo.url, '/hello')
  })

  test('an invalid certificate fails the snapshot build without echoing the key', () => {
    const bad = certificate(generateSelfSigned('x'))
    bad.cert = bad.cert.replace(/[A-Za-z]{20}/, 'A'.repeat(20))
    assert.throws(
      () => buildSnapshot(entities({certificates: [bad], snis: [sni({name: 'x.test', certificate: {id: bad.id}})]})),
      (err: Error) => err.message.startsWith(`certificate ${bad.id}: invalid certificate or key`) && !err.message.includes('PRIVATE KEY'),
    )
  })
})
