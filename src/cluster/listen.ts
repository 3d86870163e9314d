/** Kong-style listen values: `0.0.0.0:8000, 0.0.0.0:8443 ssl` (or `off`). */

export interface ListenAddress {
  host: string
  port: number
  flags: string[]
}

/** Parses a listen value; returns an error string instead of throwing, for spec validation. */
export function parseListen(value: string): ListenAddress[] | string {
  if (value.trim() === 'off') return []
  const out: ListenAddress[] = []
  for (const part of value.split(',')) {
    const [addr, ...flags] = part.trim().split(/\s+/)
    const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(addr ?? '')
    const port = m ? Number(m[2]) : NaN
    if (!m || port < 1 || port > 65535) return `invalid listen address "${part.trim()}" (expected host:port, e.g. 127.0.0.1:8001)`
    out.push({host: m[1].replace(/^\[|\]$/g, ''), port, flags})
  }
  return out
}

/** Address to connect to for a listen host (wildcards mean "this machine"). */
export function connectHost(host: string): string {
  return host === '0.0.0.0' || host === '*' ? '127.0.0.1' : host === '::' ? '::1' : host
}

/** `http://127.0.0.1:8001` for the first address of a listen value. */
export function listenUrl(value: string | undefined): string | undefined {
  if (!value) return undefined
  const parsed = parseListen(value)
  if (typeof parsed === 'string' || parsed.length === 0) return undefined
  const a = parsed[0]
  const host = connectHost(a.host)
  return `${a.flags.includes('ssl') ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${a.port}`
}

/** `host:port` a peer dials for the first address of a listen value (a CP's `cluster_listen` → a DP's `cluster_control_plane` entry). */
export function dialAddress(value: string | undefined, hostAddress?: string): string | undefined {
  const parsed = value ? parseListen(value) : []
  const a = typeof parsed === 'string' ? undefined : parsed[0]
  if (!a) return undefined
  // Seen from another host, a listener on every address or on loopback is at that host's address.
  const host = hostAddress !== undefined && ['0.0.0.0', '*', '::', '127.0.0.1', 'localhost'].includes(a.host) ? hostAddress : connectHost(a.host)
  return `${host.includes(':') ? `[${host}]` : host}:${a.port}`
}
