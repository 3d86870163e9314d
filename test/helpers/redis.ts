/**
 * A real redis-server for tests: installed when the machine lacks it, started on a free
 * loopback port with its own temp dir and no persistence, stopped by pid.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {connect} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {deadPort} from '../proxy/helpers.js'
import {ensureCommand} from './system.js'
import {until} from './until.js'

export interface TestRedis {
  port: number
  stop(): Promise<void>
}

export async function startTestRedis(): Promise<TestRedis> {
  ensureCommand('redis-server')
  const port = await deadPort()
  const dir = mkdtempSync(join(tmpdir(), 'kctl-redis-'))
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], {stdio: 'ignore'})
  await until(`redis-server to accept connections on port ${port}`, () => reachable(port), {
    abort: () => (child.exitCode !== null ? `redis-server exited (${child.exitCode})` : undefined),
  })
  return {
    port,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        await new Promise((r) => child.once('exit', r))
      }
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => {
      s.end('PING\r\n')
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}
