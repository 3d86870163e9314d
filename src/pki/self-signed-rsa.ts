/**
 * The proxy's default certificate, served when no SNI matches; generated once per process as Kong does
 * (self-signed, CN=localhost). RSA 2048: the key comes from node's crypto (fast, native),
 * node-forge builds and signs the X.509 certificate.
 */
import {generateKeyPairSync} from 'node:crypto'
import forge from 'node-forge'
import {randomSerial} from './serial.js'

export interface PemPair {
  cert: string
  key: string
}

export function generateSelfSigned(commonName = 'localhost', days = 3650): PemPair {
  const {privateKey, publicKey} = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: {type: 'spki', format: 'pem'},
    privateKeyEncoding: {type: 'pkcs8', format: 'pem'},
  })
  const cert = forge.pki.createCertificate()
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey)
  cert.serialNumber = randomSerial()
  cert.validity.notBefore = new Date(Date.now() - 60_000)
  cert.validity.notAfter = new Date(Date.now() + days * 86_400_000)
  const subject = [
    {shortName: 'C', value: 'US'},
    {shortName: 'ST', value: 'California'},
    {shortName: 'L', value: 'San Francisco'},
    {shortName: 'O', value: 'Kong'},
    {shortName: 'OU', value: 'IT Department'},
    {shortName: 'CN', value: commonName},
  ]
  cert.setSubject(subject)
  cert.setIssuer(subject)
  cert.setExtensions([
    {name: 'basicConstraints', cA: false},
    {name: 'keyUsage', digitalSignature: true, keyEncipherment: true},
    {name: 'extKeyUsage', serverAuth: true},
    {name: 'subjectAltName', altNames: [{type: 2, value: commonName}]},
  ])
  cert.sign(forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey, forge.md.sha256.create())
  return {cert: forge.pki.certificateToPem(cert), key: privateKey}
}
