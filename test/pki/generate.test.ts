import assert from 'node:assert/strict'
import {X509Certificate, createPrivateKey} from 'node:crypto'
import {before, describe, test} from 'node:test'
import {daysUntilExpiry, fingerprintSha256, generateCa, generateClusterCertificate, inspectCertificate, isIssuedBy, issueCertificate, PkiError} from '../../src/pki/index.js'
import {ensureOpenssl, openssl, pemFile, tempDir, x509Text} from './helpers.js'
import {randomSerial} from '../../src/pki/serial.js'
import {generateSelfSigned} from '../../src/pki/self-signed-rsa.js'
import {createSecureContext} from 'node:tls'

before(ensureOpenssl)

describe('pki: the shared cluster certificate', () => {
  test('is self-signed CN=kong_clustering, EC P-384, ecdsa-with-SHA384, valid exactly `days`', async (t) => {
    const pair = await generateClusterCertificate({days: 30})
    const dir = await tempDir(t)
    const text = x509Text(await pemFile(dir, 'c.crt', pair.cert))
    assert.match(text, /Subject: CN\s?=\s?kong_clustering/)
    assert.match(text, /Issuer: CN\s?=\s?kong_clustering/)
    assert.match(text, /Public-Key: \(384 bit\)/)
    assert.match(text, /NIST CURVE: P-384/)
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA384/)
    // Like Kong's, it carries no extensions.
    assert.doesNotMatch(text, /X509v3 extensions/)

    const x = new X509Certificate(pair.cert)
    assert.equal(x.subject, 'CN=kong_clustering')
    assert.equal(x.issuer, 'CN=kong_clustering')
    assert.equal(x.publicKey.asymmetricKeyType, 'ec')
    assert.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, 'secp384r1')
    assert.ok(x.checkIssued(x) && x.verify(x.publicKey), 'self-signed')
    assert.equal(Date.parse(x.validTo) - Date.parse(x.validFrom), 30 * 86_400_000)
    assert.equal(BigInt(`0x${x.serialNumber}`) > 0n, true, 'positive serial')
  })

  test('the key is a PKCS#8 EC P-384 private key matching the certificate', async () => {
    const pair = await generateClusterCertificate()
    assert.match(pair.key, /^-----BEGIN PRIVATE KEY-----/)
    const key = createPrivateKey(pair.key)
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'secp384r1')
    assert.ok(new X509Certificate(pair.cert).checkPrivateKey(key))
  })

  test('defaults to 1095 days; a notBefore can be pinned', async () => {
    const now = new Date('2030-01-02T03:04:05.678Z')
    const info = inspectCertificate((await generateClusterCertificate({now})).cert)
    assert.equal(info.notBefore, '2030-01-02T03:04:05.000Z')
    assert.equal(Date.parse(info.notAfter) - Date.parse(info.notBefore), 1095 * 86_400_000)
  })

  test('rejects a validity that is not a whole positive number of days', async () => {
    await assert.rejects(generateClusterCertificate({days: 0}), (e: unknown) => e instanceof PkiError && e.code === 'INVALID_OPTION')
    await assert.rejects(generateClusterCertificate({days: 1.5}), PkiError)
  })
})

describe('pki: CA and node certificates', () => {
  test('the CA is CA:true with keyCertSign and cRLSign', async (t) => {
    const ca = await generateCa({days: 10})
    const text = x509Text(await pemFile(await tempDir(t), 'ca.crt', ca.cert))
    assert.match(text, /Basic Constraints: critical\s+CA:TRUE/)
    assert.match(text, /Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/)
    assert.equal(inspectCertificate(ca.cert).isCa, true)
  })

  test('a CP certificate: chain verifies, serverAuth, CA:false, SANs', async (t) => {
    const dir = await tempDir(t)
    const ca = await generateCa({days: 10})
    const cp = await issueCertificate(ca, {commonName: 'cp-1', sans: ['cp-1', 'cp.example.com', '10.0.0.5', '::1'], usage: 'server', days: 5})
    const caPath = await pemFile(dir, 'ca.crt', ca.cert)
    const cpPath = await pemFile(dir, 'cp-1.crt', cp.cert)
    assert.match(openssl('verify', '-CAfile', caPath, cpPath), /cp-1.crt: OK/)
    assert.match(openssl('verify', '-CAfile', caPath, '-purpose', 'sslserver', cpPath), /OK/)
    const text = x509Text(cpPath)
    assert.match(text, /Basic Constraints: critical\s+CA:FALSE/)
    assert.match(text, /Key Usage: critical\s+Digital Signature\n/)
    assert.match(text, /Extended Key Usage:\s+TLS Web Server Authentication\n/)
    assert.match(text, /DNS:cp-1, DNS:cp.example.com, IP Address:10.0.0.5, IP Address:0:0:0:0:0:0:0:1/)
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA384/)
    const info = inspectCertificate(cp.cert)
    assert.deepEqual(info.extendedKeyUsage, ['serverAuth'])
    assert.deepEqual(info.sans, ['cp-1', 'cp.example.com', '10.0.0.5', '0:0:0:0:0:0:0:1'])
    assert.equal(info.issuer, 'CN=kctl cluster CA')
    assert.ok(isIssuedBy(cp.cert, ca.cert))
    assert.equal(Date.parse(info.notAfter) - Date.parse(info.notBefore), 5 * 86_400_000)
  })

  test('a DP certificate is for clientAuth only', async (t) => {
    const dir = await tempDir(t)
    const ca = await generateCa()
    const dp = await issueCertificate(ca, {commonName: 'dp-1', sans: ['dp-1'], usage: 'client'})
    const caPath = await pemFile(dir, 'ca.crt', ca.cert)
    const dpPath = await pemFile(dir, 'dp-1.crt', dp.cert)
    assert.match(openssl('verify', '-CAfile', caPath, '-purpose', 'sslclient', dpPath), /OK/)
    assert.throws(() => openssl('verify', '-CAfile', caPath, '-purpose', 'sslserver', dpPath))
    assert.deepEqual(inspectCertificate(dp.cert).extendedKeyUsage, ['clientAuth'])
  })

  test('a certificate from another CA does not verify', async (t) => {
    const dir = await tempDir(t)
    const [ca, other] = [await generateCa(), await generateCa()]
    const leaf = await issueCertificate(other, {commonName: 'dp-9', sans: [], usage: 'client'})
    const caPath = await pemFile(dir, 'ca.crt', ca.cert)
    const leafPath = await pemFile(dir, 'dp-9.crt', leaf.cert)
    assert.throws(() => openssl('verify', '-CAfile', caPath, leafPath), /unable to get local issuer certificate/)
    assert.equal(isIssuedBy(leaf.cert, ca.cert), false)
    assert.equal(isIssuedBy(leaf.cert, other.cert), true)
  })

  test('refuses a CA that is not a CA, or a key that does not match', async () => {
    const ca = await generateCa()
    const shared = await generateClusterCertificate()
    const opts = {commonName: 'x', sans: [], usage: 'server' as const}
    await assert.rejects(issueCertificate(shared, opts), (e: unknown) => e instanceof PkiError && e.code === 'CA_UNUSABLE' && /not a CA/.test(e.message))
    await assert.rejects(issueCertificate({cert: ca.cert, key: shared.key}, opts), (e: unknown) => e instanceof PkiError && /does not belong/.test(e.message))
  })
})

describe('pki: inspection', () => {
  test('fingerprint, key details, days until expiry', async () => {
    const pair = await generateClusterCertificate({days: 10, now: new Date('2031-05-01T00:00:00Z')})
    const x = new X509Certificate(pair.cert)
    const info = inspectCertificate(pair.cert)
    assert.equal(info.fingerprintSha256, x.fingerprint256.replaceAll(':', '').toLowerCase())
    assert.equal(fingerprintSha256(x.raw), info.fingerprintSha256)
    assert.deepEqual([info.keyType, info.keyBits, info.curve, info.isCa, info.sans], ['ec', 384, 'secp384r1', false, []])
    assert.equal(daysUntilExpiry(pair.cert, new Date('2031-05-01T00:00:00Z')), 10)
    assert.equal(daysUntilExpiry(pair.cert, new Date('2031-05-08T12:00:00Z')), 2)
    assert.equal(daysUntilExpiry(pair.cert, new Date('2031-05-12T00:00:00Z')), -1)
  })

  test('rejects text that is not a certificate', () => {
    assert.throws(() => inspectCertificate('not a cert'), (e: unknown) => e instanceof PkiError && e.code === 'NOT_A_CERTIFICATE')
  })
})

describe('pki: certificate serials', () => {
  test('are 16 bytes whose first is 0x01–0x7f: positive and never a padded DER integer', () => {
    const firsts = new Set<number>()
    for (let i = 0; i < 5000; i++) {
      const hex = randomSerial()
      assert.match(hex, /^[0-9a-f]{32}$/)
      const first = parseInt(hex.slice(0, 2), 16)
      assert.ok(first >= 0x01 && first <= 0x7f, `first byte ${hex.slice(0, 2)}`)
      firsts.add(first)
    }
    assert.ok(firsts.size > 32, 'the first byte is still random')
  })

  test("the proxy's default certificate loads in OpenSSL (its serial is DER as written)", () => {
    const pair = generateSelfSigned('default.test')
    const x = new X509Certificate(pair.cert)
    assert.equal(x.serialNumber.length, 32)
    assert.ok(BigInt(`0x${x.serialNumber}`) > 0n)
    assert.doesNotThrow(() => createSecureContext(pair))
  })
})
