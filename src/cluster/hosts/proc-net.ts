/**
 * Listening TCP sockets from Linux's /proc/net/tcp and /proc/net/tcp6 texts, read on any host
 * (no `ss`, `netstat` or Node needed there).
 *
 *   "  0: 0100007F:1F40 00000000:0000 0A …"  → {address: '127.0.0.1', port: 8000} (state 0A = LISTEN)
 */

export interface Listener {
  address: string
  port: number
}

/** The listening sockets in /proc/net/tcp{,6} contents (concatenated is fine). */
export function listenersIn(text: string): Listener[] {
  const out: Listener[] = []
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/)
    if (f.length < 4 || f[3] !== '0A' || !/^\d+:$/.test(f[0])) continue
    const [addr, port] = f[1].split(':')
    out.push({address: addr.length === 8 ? ipv4(addr) : ipv6(addr), port: parseInt(port, 16)})
  }
  return out
}

/** 8 hex digits, little-endian: 0100007F → 127.0.0.1. */
function ipv4(hex: string): string {
  return [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16)).join('.')
}

/** 32 hex digits, four little-endian words; :: and ::ffff:a.b.c.d written as such, others expanded. */
function ipv6(hex: string): string {
  const bytes: number[] = []
  for (let w = 0; w < 4; w++) for (const i of [6, 4, 2, 0]) bytes.push(parseInt(hex.slice(w * 8 + i, w * 8 + i + 2), 16))
  if (bytes.every((b) => b === 0)) return '::'
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join('.')
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16))
  return groups.join(':')
}

const ANY = new Set(['0.0.0.0', '::'])

/** True when a listener takes `address:port` (the same address, or either side a wildcard). */
export function portTaken(listeners: Listener[], address: string, port: number): boolean {
  return listeners.some((l) => l.port === port && (l.address === address || ANY.has(l.address) || ANY.has(address)))
}
