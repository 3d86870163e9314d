/** Test certificates, made by the project's certificate module: a leaf for a host name and a CA. */
import {generateCa, issueCertificate, type CertificateAndKey} from '../../src/pki/index.js'

export const makeCa = (): Promise<CertificateAndKey> => generateCa({days: 1})

export async function makeCert(host: string, altNames: string[] = []): Promise<CertificateAndKey> {
  return issueCertificate(await makeCa(), {commonName: host, sans: [host, ...altNames], usage: 'server', days: 1})
}
