/**
 * kong.conf's `dns_*` keys, as Kong reads them: `dns_hostsfile` (read once at start, its
 * names resolve before any nameserver is asked), `dns_resolver` (nameservers `ip[:port]`;
 * none: the system's resolver), and the cache's TTLs (`dns_valid_ttl` overriding the
 * records' own, `dns_stale_ttl` for an answer past it, `dns_not_found_ttl` for a name that
 * does not exist, `dns_error_ttl` for other failures). `dns_order`, `dns_cache_size` and
 * `dns_no_sync` are not read: A then AAAA records, no SRV. The proxy's resolver (proxy/dns.ts) runs on what `dnsSettings` returns.
 */
import {readFileSync, statSync} from 'node:fs'
import {isIP} from 'node:net'
import type {NodeConf} from './defaults.js'

export interface HostAddress {
  address: string
  family: 4 | 6
}

export interface DnsSettings {
  /** Names of the hosts file (lower case) and their addresses, in the file's order. */
  hosts: ReadonlyMap<string, readonly HostAddress[]>
  /** Nameservers as Node's resolver takes them (`ip`, `ip:port`, `[ipv6]:port`); empty: the system's resolver. */
  servers: readonly string[]
  /** Seconds; null: each record's own TTL. */
  validTtl: number | null
  /** Seconds an answer past its TTL is still given while it is asked again. */
  staleTtl: number
  notFoundTtl: number
  errorTtl: number
}

type DnsConf = Pick<NodeConf, 'dns_hostsfile' | 'dns_resolver' | 'dns_valid_ttl' | 'dns_stale_ttl' | 'dns_not_found_ttl' | 'dns_error_ttl'>

/** Kong's message for a `dns_resolver` entry that is not `ip[:port]`. */
export function dnsResolverErrors(servers: readonly string[]): string[] {
  return servers.filter((s) => nameserver(s) === null).map((s) => `dns_resolver must be a comma separated list in the form of IPv4/6 or IPv4/6:port, got '${s}'`)
}

/** The start-up errors of the `dns_*` keys: Kong's, and a hosts file that cannot be read. */
export function dnsErrors(conf: DnsConf): string[] {
  const errors: string[] = []
  if (conf.dns_hostsfile !== null) {
    try {
      if (!statSync(conf.dns_hostsfile).isFile()) errors.push('dns_hostsfile: file does not exist')
      else readFileSync(conf.dns_hostsfile)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      errors.push(code === 'ENOENT' ? 'dns_hostsfile: file does not exist' : `dns_hostsfile: cannot read '${conf.dns_hostsfile}' (${code ?? (err as Error).message})`)
    }
  }
  for (const name of ['dns_valid_ttl', 'dns_stale_ttl', 'dns_not_found_ttl', 'dns_error_ttl'] as const) {
    const v = conf[name]
    // NaN: the loader already said it is not a number
    if (v !== null && !Number.isNaN(v) && v < 0) errors.push(`${name} must be a number of seconds, 0 or more; got ${v}`)
  }
  return errors
}

/** What the resolver runs on (loadConf checked the values and the file). */
export function dnsSettings(conf: DnsConf): DnsSettings {
  return {
    hosts: conf.dns_hostsfile === null ? new Map() : parseHostsFile(readFileSync(conf.dns_hostsfile, 'utf8')),
    servers: conf.dns_resolver.map((s) => nameserver(s)!),
    validTtl: conf.dns_valid_ttl,
    staleTtl: conf.dns_stale_ttl,
    notFoundTtl: conf.dns_not_found_ttl,
    errorTtl: conf.dns_error_ttl,
  }
}

/** `/etc/hosts` format: an address, then its names; `#` starts a comment. The first line naming a name wins per family. */
export function parseHostsFile(text: string): Map<string, HostAddress[]> {
  const hosts = new Map<string, HostAddress[]>()
  for (const raw of text.split('\n')) {
    const [address, ...names] = raw.replace(/#.*/, '').trim().split(/\s+/)
    // a zone index (fe80::1%eth0) is kept: the system's resolver takes it too
    const family = isIP(address?.replace(/%.*$/, '') ?? '')
    if (family === 0 || names.length === 0) continue
    for (const n of names) {
      const name = n.toLowerCase()
      const list = hosts.get(name) ?? []
      if (!list.some((a) => a.family === family)) list.push({address, family: family as 4 | 6})
      hosts.set(name, list)
    }
  }
  return hosts
}

/** `ip`, `ip:port` or `[ipv6]:port` as Node's `Resolver#setServers` takes it; null when it is none of those. */
function nameserver(entry: string): string | null {
  const s = entry.trim()
  if (isIP(s)) return s
  const v6 = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(s)
  if (v6) return isIP(v6[1]) === 6 && validPort(v6[2]) ? (v6[2] ? `[${v6[1]}]:${v6[2]}` : v6[1]) : null
  const v4 = /^([^:]+):(\d{1,5})$/.exec(s)
  return v4 && isIP(v4[1]) === 4 && validPort(v4[2]) ? s : null
}

const validPort = (p: string | undefined) => p === undefined || (Number(p) >= 1 && Number(p) <= 65535)
