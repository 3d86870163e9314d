import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {fingerprintSha256, generateCa, generateClusterCertificate, issueCertificate} from '../../src/pki/index.js'
import {handshake} from './helpers.js'

describe('pki: mutual TLS with the generated certificates', () => {
  test('shared: both sides present the same certificate; the CP matches the DP by fingerprint', async (t) => {
    const shared = await generateClusterCertificate({days: 1})
    const expected = fingerprintSha256(shared.cert)
    const r = await handshake(t, {server: shared, client: shared, servername: 'kong_clustering'})
    assert.ok(r.clientCertSeenByServer, 'the server received a client certificate')
    assert.equal(fingerprintSha256(r.clientCertSeenByServer), expected)
    assert.equal(fingerprintSha256(r.serverCertSeenByClient), expected)
  })

  test('shared: a DP with another certificate, or none, does not match', async (t) => {
    const shared = await generateClusterCertificate({days: 1})
    const other = await generateClusterCertificate({days: 1})
    const wrong = await handshake(t, {server: shared, client: other})
    assert.notEqual(fingerprintSha256(wrong.clientCertSeenByServer!), fingerprintSha256(shared.cert))
    const none = await handshake(t, {server: shared})
    assert.equal(none.clientCertSeenByServer, undefined)
  })

  test('shared: the certificate also works as its own trust anchor for the DP (CN kong_clustering)', async (t) => {
    const shared = await generateClusterCertificate({days: 1})
    const r = await handshake(t, {server: shared, client: shared, ca: shared.cert, servername: 'kong_clustering'})
    assert.equal(r.clientAuthorized, true)
    assert.equal(r.serverAuthorized, true)
  })

  test('pki: CP and DP certificates verify against the CA in both directions', async (t) => {
    const ca = await generateCa({days: 1})
    const cp = await issueCertificate(ca, {commonName: 'cp-1', sans: ['cp-1', 'localhost', '127.0.0.1'], usage: 'server', days: 1})
    const dp = await issueCertificate(ca, {commonName: 'dp-1', sans: ['dp-1'], usage: 'client', days: 1})
    const r = await handshake(t, {server: cp, client: dp, ca: ca.cert, servername: 'localhost'})
    assert.equal(r.serverAuthorized, true, r.serverAuthError)
    assert.equal(r.clientAuthorized, true)
    assert.equal(fingerprintSha256(r.clientCertSeenByServer!), fingerprintSha256(dp.cert))
  })

  test('pki: a DP certificate from another CA is not authorized', async (t) => {
    const ca = await generateCa({days: 1})
    const rogue = await generateCa({days: 1})
    const cp = await issueCertificate(ca, {commonName: 'cp-1', sans: ['localhost'], usage: 'server', days: 1})
    const dp = await issueCertificate(rogue, {commonName: 'dp-1', sans: ['dp-1'], usage: 'client', days: 1})
    const r = await handshake(t, {server: cp, client: dp, ca: ca.cert, servername: 'localhost'})
    assert.equal(r.serverAuthorized, false)
    assert.match(r.serverAuthError ?? '', /UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to (get|verify)/i)
  })

  test('pki: a CP (serverAuth) certificate is not accepted as a DP client certificate', async (t) => {
    const ca = await generateCa({days: 1})
    const cp = await issueCertificate(ca, {commonName: 'cp-1', sans: ['localhost'], usage: 'server', days: 1})
    const r = await handshake(t, {server: cp, client: cp, ca: ca.cert, servername: 'localhost'})
    assert.equal(r.serverAuthorized, false)
    assert.match(r.serverAuthError ?? '', /INVALID_PURPOSE|purpose/i)
  })
})
