/**
 * Binds every `status_listen` address: plain HTTP, or HTTPS for an address flagged `ssl`,
 * as Kong's status listener. HTTPS serves `status_ssl_cert`/`status_ssl_cert_key` when
 * set, else a self-signed certificate made at start (Kong's `status-kong-default.crt`).
 */
import {readFileSync} from 'node:fs'
import {createServer, type RequestListener, type Server} from 'node:http'
import {createServer as createTlsServer} from 'node:https'
import {generateSelfSigned, type PemPair} from '../../pki/self-signed-rsa.js'
import type {NodeConf} from '../conf/defaults.js'
import {parseListen} from '../proxy/listen.js'
import {listen} from '../listeners/bind.js'

/**
 * Listens on each address of `status_listen`; resolves with the servers. Throws (naming the
 * address and `status_listen`) when one cannot be bound, or when a certificate file cannot
 * be read.
 */
export async function listenStatus(conf: Pick<NodeConf, 'status_listen' | 'status_ssl_cert' | 'status_ssl_cert_key'>, handler: RequestListener): Promise<Server[]> {
  const servers: Server[] = []
  let pem: PemPair | undefined
  for (const l of parseListen(conf.status_listen)) {
    let server: Server
    if (l.ssl) {
      pem ??= statusCertificate(conf)
      server = createTlsServer({...pem, keepAliveTimeout: 60_000}, handler) as unknown as Server
    } else {
      server = createServer({keepAliveTimeout: 60_000}, handler)
    }
    await listen(server, l.host, l.port, 'status_listen')
    servers.push(server)
  }
  return servers
}

function statusCertificate(conf: Pick<NodeConf, 'status_ssl_cert' | 'status_ssl_cert_key'>): PemPair {
  const [cert, key] = [conf.status_ssl_cert[0], conf.status_ssl_cert_key[0]]
  if (!cert || !key) return generateSelfSigned()
  return {cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8')}
}
