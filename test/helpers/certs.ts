/** Test certificates made with node-forge: a leaf for a host name and a CA. */
import forge from 'node-forge'

export interface Pem {
  cert: string
  key: string
}

function make(cn: string, ca: boolean, altNames: string[] = []): Pem {
  const keys = forge.pki.rsa.generateKeyPair(2048)
  const cert = forge.pki.createCertificate()
  cert.publicKey = keys.publicKey
  cert.serialNumber = '0' + forge.util.bytesToHex(forge.random.getBytesSync(8))
  cert.validity.notBefore = new Date(Date.now() - 60_000)
  cert.validity.notAfter = new Date(Date.now() + 86_400_000)
  const attrs = [{name: 'commonName', value: cn}]
  cert.setSubject(attrs)
  cert.setIssuer(attrs)
  const ext: any[] = [{name: 'basicConstraints', cA: ca}]
  if (!ca) ext.push({name: 'subjectAltName', altNames: [cn, ...altNames].map((value) => ({type: 2, value}))})
  else ext.push({name: 'keyUsage', keyCertSign: true, cRLSign: true})
  cert.setExtensions(ext)
  cert.sign(keys.privateKey, forge.md.sha256.create())
  return {cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(keys.privateKey)}
}

export const makeCert = (host: string, altNames: string[] = []): Pem => make(host, false, altNames)
export const makeCa = (): Pem => make('kctl test CA', true)
