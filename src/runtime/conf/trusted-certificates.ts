/**
 * kong.conf `lua_ssl_trusted_certificate`: the CAs the node trusts when it verifies a
 * server it connects to (rate-limiting's redis with `ssl_verify`), as Kong's: a
 * comma-separated list of PEM files, and `system` for the system's roots (the default).
 * A file that cannot be read, or holds no certificate, stops the node at start, saying which.
 */
import {readFileSync} from 'node:fs'
import {rootCertificates} from 'node:tls'
import type {NodeConf} from './defaults.js'

const PEM = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g

/** The start-up errors: each file that cannot be read or has no PEM certificate. */
export function trustedCertificateErrors(conf: NodeConf): string[] {
  const errors: string[] = []
  for (const entry of conf.lua_ssl_trusted_certificate) {
    if (entry === 'system') continue
    let text: string
    try {
      text = readFileSync(entry, 'utf8')
    } catch (err) {
      errors.push(`lua_ssl_trusted_certificate: cannot read '${entry}' (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give PEM files of CA certificates, or 'system'`)
      continue
    }
    if (!text.match(PEM)) errors.push(`lua_ssl_trusted_certificate: '${entry}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)`)
  }
  return errors
}

/** Every trusted certificate, PEM (read when the proxy starts; loadConf checked the files). */
export function readTrustedCertificates(conf: NodeConf): string[] {
  return conf.lua_ssl_trusted_certificate.flatMap((entry) => (entry === 'system' ? [...rootCertificates] : (readFileSync(entry, 'utf8').match(PEM) ?? [])))
}
