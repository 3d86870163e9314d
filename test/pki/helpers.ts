/** Helpers for the certificate tests: openssl, temp dirs, and a mutual-TLS handshake. */
import {spawnSync} from 'node:child_process'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {connect, createServer, type TLSSocket} from 'node:tls'
import type {TestContext} from 'node:test'
import type {CertificateAndKey} from '../../src/pki/index.js'
import {ensureCommand} from '../helpers/system.js'

/** openssl is normally present; installed only when it is not. */
export const ensureOpenssl = (): void => ensureCommand('openssl')

/** Runs openssl with args; returns stdout, throws with stderr on failure. */
export function openssl(...args: string[]): string {
  const r = spawnSync('openssl', args, {encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return r.stdout
}

/** `openssl x509 -noout -text` of a PEM file. */
export const x509Text = (path: string): string => openssl('x509', '-in', path, '-noout', '-text')

export async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kctl-pki-'))
  t.after(() => rm(dir, {recursive: true, force: true}))
  return dir
}

/** Writes PEM text to `dir/name` and returns the path. */
export async function pemFile(dir: string, name: string, pem: string): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, pem)
  return path
}

export interface HandshakeResult {
  /** The certificate the server saw from the client (DER), absent when none. */
  clientCertSeenByServer?: Buffer
  /** The certificate the client saw from the server (DER). */
  serverCertSeenByClient: Buffer
  serverAuthorized: boolean
  serverAuthError?: string
  clientAuthorized: boolean
}

export interface HandshakeOptions {
  server: CertificateAndKey
  /** Absent: the client presents no certificate. */
  client?: CertificateAndKey
  /** pki: the CA both sides verify against; absent: shared mode, nothing verified by TLS. */
  ca?: string
  servername?: string
}

/**
 * One mutual-TLS handshake on 127.0.0.1. The server always requests a client certificate
 * but never rejects, so the test sees what each side saw and decides itself, the way the
 * CP checks a DP (shared mode: compare fingerprints; pki: `authorized` against the CA).
 */
export async function handshake(t: TestContext, o: HandshakeOptions): Promise<HandshakeResult> {
  let resolveServer!: (s: TLSSocket) => void
  const serverSide = new Promise<TLSSocket>((r) => (resolveServer = r))
  const server = createServer({cert: o.server.cert, key: o.server.key, ca: o.ca, requestCert: true, rejectUnauthorized: false}, (s) => {
    resolveServer(s)
    s.end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.after(() => new Promise<void>((r) => server.close(() => r())))
  const port = (server.address() as {port: number}).port
  const client = await new Promise<TLSSocket>((resolve, reject) => {
    const s = connect({host: '127.0.0.1', port, servername: o.servername, cert: o.client?.cert, key: o.client?.key, ca: o.ca, rejectUnauthorized: false}, () => resolve(s))
    s.on('error', reject)
  })
  const s = await serverSide
  const peer = s.getPeerCertificate()
  const result: HandshakeResult = {
    clientCertSeenByServer: peer && peer.raw ? peer.raw : undefined,
    serverCertSeenByClient: client.getPeerCertificate().raw,
    serverAuthorized: s.authorized,
    serverAuthError: s.authorizationError ? String(s.authorizationError) : undefined,
    clientAuthorized: client.authorized,
  }
  client.destroy()
  return result
}
