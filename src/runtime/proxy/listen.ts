/**
 * Kong's `*_listen` syntax: a comma-separated list of `address:port [flags…]`, or `off`.
 *
 *   0.0.0.0:8000, 0.0.0.0:8443 ssl http2 reuseport backlog=16384
 *   [::1]:8000
 *
 * Flags we act on: `ssl`. Others (`http2`, `reuseport`, `backlog=N`, `proxy_protocol`,
 * `deferred`, `bind`) are parsed and kept so callers can warn about unsupported ones.
 */

export interface ListenSpec {
  host: string
  port: number
  ssl: boolean
  http2: boolean
  reuseport: boolean
  /** Every flag as written, for diagnostics. */
  flags: string[]
}

const KNOWN_FLAG = /^(ssl|http2|reuseport|proxy_protocol|deferred|bind|so_keepalive=\S+|backlog=\d+|ipv6only=(on|off))$/

/** Throws an Error quoting the bad entry; `off` (or an empty value) yields []. */
export function parseListen(value: string): ListenSpec[] {
  const v = value.trim()
  if (v === '' || v === 'off') return []
  return v.split(',').map((entry) => parseEntry(entry.trim()))
}

function parseEntry(entry: string): ListenSpec {
  const [addr, ...flags] = entry.split(/\s+/)
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(addr ?? '')
  if (!m) throw new Error(`invalid listen address '${entry}': expected host:port, e.g. 0.0.0.0:8000 or [::1]:8000`)
  const port = Number(m[2])
  if (port > 65535) throw new Error(`invalid listen address '${entry}': port must be between 0 and 65535`)
  for (const f of flags) if (!KNOWN_FLAG.test(f)) throw new Error(`invalid listen flag '${f}' in '${entry}'`)
  return {
    host: m[1].startsWith('[') ? m[1].slice(1, -1) : m[1],
    port,
    ssl: flags.includes('ssl'),
    http2: flags.includes('http2'),
    reuseport: flags.includes('reuseport'),
    flags,
  }
}

/** `host:port`, with IPv6 literals in brackets, as used in messages. */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
