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
    ['cert', {...t.pem('PEM-encoded CA certificate.', 'certificate'), required: true}],
    ['cert_digest', {type: 'string', unique: true, auto: true, description: 'SHA-256 of the certificate (derived).'}],
    tagsField(),
  ],
  // Kong's entity check: one certificate, not expired, a CA
  entity_checks: [
    (e): Record<string, string> | null => {
      if (typeof e.cert !== 'string') return null
      const tag = '-----BEGIN CERTIFICATE-----'
      const first = e.cert.indexOf(tag)
      if (first >= 0 && e.cert.indexOf(tag, first + tag.length + 1) >= 0) return {'@entity': 'please submit only one certificate at a time'}
      let cert: X509Certificate
      try {
        cert = new X509Certificate(e.cert)
      } catch {
        return {cert: 'invalid certificate: x509.new: could not parse PEM'}
      }
      if (Date.parse(cert.validTo) < Date.now()) return {'@entity': 'certificate expired, "Not After" time is in the past'}
      return cert.ca ? null : {'@entity': 'certificate does not appear to be a CA because it is missing the "CA" basic constraint'}
    },
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
