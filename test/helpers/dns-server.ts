/**
 * A real nameserver for tests, on a free UDP port of 127.0.0.1: A and AAAA records for
 * the names it is given (with a TTL), "name error" (NXDOMAIN) for every other name, the
 * queries it answered counted per name. Nodes point `dns_resolver` at it, so tests never
 * depend on the machine's DNS.
 */
import {createSocket, type Socket} from 'node:dgram'
import {isIP} from 'node:net'
import * as packet from 'dns-packet'

export interface TestDnsServer {
  /** `127.0.0.1:<port>`, as kong.conf `dns_resolver` takes it. */
  address: string
  /** Queries answered, per name (lower case). */
  queries(name: string): number
  /** Gives `name` these addresses from now on (none: a name error). */
  set(name: string, ips: string[]): void
  close(): Promise<void>
}

/** `records`: name → its addresses (IPv4 or IPv6). */
export async function startTestDnsServer(records: Record<string, string[]>, ttl = 30): Promise<TestDnsServer> {
  const known = new Map(Object.entries(records).map(([name, ips]) => [name.toLowerCase(), ips]))
  const counts = new Map<string, number>()
  const socket: Socket = createSocket('udp4')
  socket.on('message', (msg, from) => {
    let query: packet.Packet
    try {
      query = packet.decode(msg)
    } catch {
      return
    }
    const q = query.questions?.[0]
    if (!q) return
    const name = q.name.toLowerCase()
    counts.set(name, (counts.get(name) ?? 0) + 1)
    const ips = known.get(name)
    const family = q.type === 'A' ? 4 : q.type === 'AAAA' ? 6 : 0
    const answers = (ips ?? []).filter((ip) => isIP(ip) === family).map((ip) => ({type: q.type as 'A' | 'AAAA', name: q.name, ttl, data: ip}))
    const reply = packet.encode({
      type: 'response',
      id: query.id,
      // QR (response), RD copied, RA; RCODE 3 (name error) for a name it does not know
      flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | (ips ? 0 : 3),
      questions: [q],
      answers,
    })
    socket.send(reply, from.port, from.address)
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(0, '127.0.0.1', () => resolve())
  })
  return {
    address: `127.0.0.1:${socket.address().port}`,
    queries: (name) => counts.get(name.toLowerCase()) ?? 0,
    set: (name, ips) => void (ips.length ? known.set(name.toLowerCase(), ips) : known.delete(name.toLowerCase())),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  }
}
