/**
 * A real redis-server for tests: installed when the machine lacks it, started on a free
 * loopback port with its own temp dir and no persistence (and a TLS port when asked),
 * stopped by pid.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {connect} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {deadPort} from '../proxy/helpers.js'
import {ensureCommand} from './system.js'
import {until} from './until.js'

export interface TestRedis {
  port: number
  /** The TLS port, when started with `tls`. */
  tlsPort?: number
  stop(): Promise<void>
}

/** `tls`: the server's certificate and key, and the CA it names (PEM); clients are not asked for one. */
export async function startTestRedis(options: {tls?: {cert: string; key: string; ca: string}} = {}): Promise<TestRedis> {
  ensureCommand('redis-server')
  const port = await deadPort()
  const dir = mkdtempSync(join(tmpdir(), 'kctl-redis-'))
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no']
  let tlsPort: number | undefined
  if (options.tls) {
    tlsPort = await deadPort()
    for (const [name, pem] of Object.entries(options.tls)) writeFileSync(join(dir, `${name}.pem`), pem, {mode: 0o600})
    args.push('--tls-port', String(tlsPort), '--tls-cert-file', join(dir, 'cert.pem'), '--tls-key-file', join(dir, 'key.pem'), '--tls-ca-cert-file', join(dir, 'ca.pem'), '--tls-auth-clients', 'no')
  }
  const child: ChildProcess = spawn('redis-server', args, {stdio: 'ignore'})
  await until(`redis-server to accept connections on port ${port}`, () => reachable(port), {
    abort: () => (child.exitCode !== null ? `redis-server exited (${child.exitCode})` : undefined),
  })
  if (tlsPort) await until(`redis-server to accept TLS connections on port ${tlsPort}`, () => reachable(tlsPort!, false), {abort: () => (child.exitCode !== null ? `redis-server exited (${child.exitCode}); is it built with TLS?` : undefined)})
  return {
    port,
    tlsPort,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        await new Promise((r) => child.once('exit', r))
      }
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

function reachable(port: number, ping = true): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => {
      if (ping) s.end('PING\r\n')
      else s.end()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}
