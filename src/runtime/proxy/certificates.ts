/**
 * SNI → TLS context, looked up as Kong's `kong/runtime/certificate.lua` does:
 *
 *   exact name ─► *.rest-of-name ─► first-labels.* ─► sni "*" ─► default (self-signed)
 *
 * Contexts are created when the snapshot is built, so a bad PEM fails the build (and the
 * caller keeps its previous snapshot) instead of failing handshakes later.
 */
import {createSecureContext, type SecureContext} from 'node:tls'
import type {Entity} from '../schema/registry.js'

export interface CertificateTable {
  /** The context for a server name, or null when the default certificate applies. */
  lookup(servername: string | undefined): SecureContext | null
  /** A certificate by id, as a client certificate for upstreams (a service's or upstream's `client_certificate`); null when absent. */
  client(id: string): ClientCertificate | null
  readonly size: number
}

/** What the proxy presents to an upstream that asks for a client certificate. */
export interface ClientCertificate {
  id: string
  cert: string
  key: string
}

/** Throws an Error naming the certificate (never its contents) on an invalid PEM. */
export function buildCertificateTable(certificates: ReadonlyArray<Entity<'certificates'>>, snis: ReadonlyArray<Entity<'snis'>>): CertificateTable {
  const contexts = new Map<string, SecureContext>()
  const context = (id: string): SecureContext => {
    let ctx = contexts.get(id)
    if (ctx) return ctx
    const c = certificates.find((x) => x.id === id)
    if (!c) throw new Error(`sni references unknown certificate ${id}`)
    try {
      const pairs = [{cert: c.cert, key: c.key}]
      if (c.cert_alt && c.key_alt) pairs.push({cert: c.cert_alt, key: c.key_alt})
      ctx = createSecureContext({cert: pairs.map((p) => p.cert), key: pairs.map((p) => p.key)})
    } catch (e) {
      throw new Error(`certificate ${id}: invalid certificate or key (${(e as Error).message})`)
    }
    contexts.set(id, ctx)
    return ctx
  }
  const byName = new Map<string, SecureContext>()
  for (const s of snis) if (s.certificate?.id) byName.set(String(s.name).toLowerCase(), context(s.certificate.id))
  const clients = new Map<string, ClientCertificate>()
  for (const c of certificates) clients.set(c.id, {id: c.id, cert: c.cert, key: c.key})
  return {
    size: byName.size,
    client: (id) => clients.get(id) ?? null,
    lookup(servername) {
      const name = (servername ?? '').toLowerCase().replace(/\.$/, '')
      if (!name) return byName.get('*') ?? null
      const exact = byName.get(name)
      if (exact) return exact
      const dot = name.indexOf('.')
      if (dot > 0) {
        const wildPrefix = byName.get('*' + name.slice(dot))
        if (wildPrefix) return wildPrefix
        const last = name.lastIndexOf('.')
        const wildSuffix = byName.get(name.slice(0, last) + '.*')
        if (wildSuffix) return wildSuffix
      }
      return byName.get('*') ?? null
    },
  }
}
