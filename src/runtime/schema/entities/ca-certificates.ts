import {createHash, X509Certificate} from 'node:crypto'
import {createdAt, defineEntity, idField, tagsField, updatedAt} from '../field.js'
import * as t from '../typedefs.js'

export const caCertificates = defineEntity({
  name: 'ca_certificates',
  singular: 'ca_certificate',
  fields: [
    idField(),
    createdAt(),
    updatedAt(),
    [
      'cert',
      {
        ...t.pem('PEM-encoded CA certificate.', 'certificate'),
        required: true,
        custom: (v: string) => {
          try {
            return new X509Certificate(v).ca ? null : 'certificate does not appear to be a CA because it is missing the "CA" basic constraint'
          } catch {
            return 'invalid certificate: x509.new: could not parse PEM'
          }
        },
      },
    ],
    ['cert_digest', {type: 'string', unique: true, auto: true, description: 'SHA-256 of the certificate (derived).'}],
    tagsField(),
  ],
  derive: (e) => {
    if (typeof e.cert === 'string') {
      try {
        e.cert_digest = createHash('sha256').update(new X509Certificate(e.cert).raw).digest('hex')
      } catch {
        /* the cert field check reports it */
      }
    }
  },
})
