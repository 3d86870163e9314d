/**
 * A loopback port where a TCP connect hangs: a real node process listens there and never
 * accepts. Apart from helpers.ts because it starts a process (a test using it is e2e).
 */
import {spawn} from 'node:child_process'
import {once} from 'node:events'
import {connect, type Socket} from 'node:net'
import type {Cleanup} from './helpers.js'

// Listens with a backlog of 1, reports its port, then blocks its event loop so it never
// accepts (and exits on its own after two minutes should nobody kill it).
const BLACKHOLE = `const s = require('node:net').createServer()
s.listen({port: 0, host: '127.0.0.1', backlog: 1}, () => {
  require('node:fs').writeSync(1, s.address().port + '\\n')
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120000)
  process.exit(0)
})`

/**
 * A port where a TCP connect hangs until the client gives up: a real node process
 * listens there but never accepts, and connections from here fill its accept queue,
 * after which Linux drops every further SYN. A loopback connect timeout without
 * touching the firewall or routing.
 */
export async function startBlackhole(t: Cleanup): Promise<{port: number}> {
  const child = spawn(process.execPath, ['-e', BLACKHOLE], {stdio: ['ignore', 'pipe', 'inherit']})
  const fillers: Socket[] = []
  t.after(() => {
    for (const s of fillers) s.destroy()
    child.kill('SIGKILL')
  })
  const [first] = (await once(child.stdout!, 'data')) as [Buffer]
  const port = Number(first.toString().trim())
  for (let i = 0; i < 8; i++) {
    const s = connect(port, '127.0.0.1')
    s.on('error', () => {})
    fillers.push(s)
    const connected = await Promise.race([once(s, 'connect').then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 500))])
    if (!connected) return {port} // this SYN was dropped: the queue is full
  }
  throw new Error(`the accept queue of 127.0.0.1:${port} never filled`)
}
