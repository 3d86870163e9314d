/** Port checks used by preflight and tests. */
import {readFileSync} from 'node:fs'
import {createServer} from 'node:net'

const handedOut = new Set<number>()

/** The lowest port the OS picks for outgoing connections (Linux; 32768 elsewhere). */
function ephemeralLow(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768
  } catch {
    return 32768
  }
}

/**
 * A port free on `host` right now, for a server started a moment later. It is taken below
 * the ephemeral range: a port from there could meanwhile become the local end of one of our
 * own outgoing connections (to Postgres, an upstream) and the later bind would fail. Never
 * the same port twice in one process.
 */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  const high = Math.min(ephemeralLow(), 65536) - 1
  const low = Math.max(1024, high - 12000)
  for (let i = 0; i < 50; i++) {
    const port = low + Math.floor(Math.random() * (high - low))
    if (handedOut.has(port) || !(await isPortFree(host, port))) continue
    handedOut.add(port)
    return port
  }
  const port = await osAssignedPort(host)
  handedOut.add(port)
  return port
}

function osAssignedPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, host, () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

/** True when nothing listens on host:port (we could bind it). */
export function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer()
    srv.once('error', () => resolve(false))
    srv.listen({host, port, exclusive: true}, () => srv.close(() => resolve(true)))
  })
}
