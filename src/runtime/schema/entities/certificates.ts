import {createPrivateKey, createPublicKey, X509Certificate, type KeyObject} from 'node:crypto'
import {createdAt, defineEntity, idField, tagsField, updatedAt} from '../field.js'
import * as t from '../typedefs.js'

export const certificates = defineEntity({
  name: 'certificates',
  singular: 'certificate',
  fields: [
    idField(),
    createdAt(),
    updatedAt(),
    ['cert', {...t.pem('PEM-encoded public certificate chain.', 'certificate'), required: true}],
    ['key', {...t.pem('PEM-encoded private key.', 'key'), required: true, encrypted: true}],
    ['cert_alt', {...t.pem('Alternate PEM certificate (another key type).', 'certificate')}],
    ['key_alt', {...t.pem('Alternate PEM private key.', 'key'), encrypted: true}],
    tagsField(),
  ],
  // Kong's transient `snis`: the names of the certificate's snis entities (admin/certificate-snis.ts)
  transient: [['snis', {type: 'array', elements: t.sniName('A server name, with at most one `*` at either end.'), required: false, description: 'The names of the SNIs of this certificate (`snis` entities); not stored with it.'}]],
  entity_checks: [
    (e) => ((e.cert_alt == null) !== (e.key_alt == null) ? {'@entity': "all or none of these fields must be set: 'cert_alt', 'key_alt'"} : null),
    (e) => (pairMismatch(e.cert, e.key) ? {'@entity': 'certificate does not match key'} : null),
    (e) => (pairMismatch(e.cert_alt, e.key_alt) ? {'@entity': 'alternative certificate does not match key'} : null),
    (e) => {
      const [a, b] = [publicKeyOf(e.cert), publicKeyOf(e.cert_alt)]
      return a && b && a.asymmetricKeyType === b.asymmetricKeyType
        ? {'@entity': 'certificate and alternative certificate need to have different type (e.g. RSA and ECDSA), the provided certificates were both of the same type'}
        : null
    },
  ],
  nested: [{key: 'snis', entity: 'snis', via: 'certificate'}],
})

export const snis = defineEntity({
  name: 'snis',
  singular: 'sni',
  endpoint_key: 'name',
  fields: [
    idField(),
    ['name', {...t.sniName('The server name, with at most one `*` at either end.'), required: true, unique: true}],
    createdAt(),
    updatedAt(),
    tagsField(),
    ['certificate', {type: 'foreign', reference: 'certificates', required: true, on_delete: 'cascade', description: 'The certificate served for this name.'}],
  ],
})

/** The public key of a PEM certificate; null when there is none to read (its field reports why). */
function publicKeyOf(cert: unknown): KeyObject | null {
  if (typeof cert !== 'string') return null
  try {
    return new X509Certificate(cert).publicKey
  } catch {
    return null
  }
}

/** Kong's check: the certificate's public key is the key's (both readable, else the fields report it). */
function pairMismatch(cert: unknown, key: unknown): boolean {
  const pub = publicKeyOf(cert)
  if (!pub || typeof key !== 'string') return false
  let fromKey: string
  try {
    fromKey = createPublicKey(createPrivateKey(key)).export({type: 'spki', format: 'pem'}) as string
  } catch {
    return false
  }
  return pub.export({type: 'spki', format: 'pem'}) !== fromKey
}
