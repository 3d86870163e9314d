/**
 * Name resolution for upstream connections, active health probes and the Admin API's
 * target health, on kong.conf's `dns_*` keys (conf/dns.ts), as Kong's DNS client:
 *
 *   name ─► in dns_hostsfile (read at start) ──────────────► its addresses
 *        ─► dns_resolver set ─► cache ─ miss ─► A, else AAAA from those nameservers;
 *                                               one query in flight per name
 *        ─► otherwise the system's resolver (getaddrinfo: resolv.conf with its search
 *           domains and nsswitch), asked per connection as Node does
 *
 * Cached answers live for their records' TTL (`dns_valid_ttl` overrides it), a name that
 * does not exist for `dns_not_found_ttl`, any other failure for `dns_error_ttl`. An answer
 * past its TTL is still given for `dns_stale_ttl` while a new query runs in the background,
 * and kept when that query fails (a nameserver that is down does not take upstreams with
 * it), as Kong's. Every failure reaches a connection as a DNS error (ENOTFOUND or
 * EAI_AGAIN), never as the nameserver's own socket error, so the proxy answers and counts
 * it as one.
 *
 * Without `dns_resolver`, `resolve()` (the health endpoints' view of a target) keeps the
 * system's answers for `dns_valid_ttl`, 30 s by default (getaddrinfo gives no TTL);
 * connections still ask getaddrinfo each time, as Node does.
 */
import dns, {type LookupAddress} from 'node:dns'
import {isIP, type LookupFunction} from 'node:net'
import type {DnsSettings} from '../conf/dns.js'

export type Resolution =
  /** `type`: the record type the addresses came as (Kong's `dns` field of a target). */
  | {addresses: LookupAddress[]; type: 'A' | 'AAAA'; expires: number}
  | {error: string; code: 'ENOTFOUND' | 'EAI_AGAIN'; expires: number}

/** Kong's DNS client: 2 s per try. */
const QUERY = {timeout: 2000, tries: 3}
/** Names kept in the cache (Kong's `dns_cache_size` default); the oldest goes first. */
const CACHE_SIZE = 10_000

/** How long `resolve()` keeps an answer of the system's resolver, which has no TTL, unless dns_valid_ttl says otherwise. */
const SYSTEM_ANSWER_MS = 30_000

const NO_HOSTS: DnsSettings = {hosts: new Map(), servers: [], validTtl: null, staleTtl: 3600, notFoundTtl: 30, errorTtl: 1}

export class NameResolver {
  private readonly cache = new Map<string, Resolution>()
  private readonly pending = new Map<string, Promise<Resolution>>()
  private readonly nameservers: dns.promises.Resolver | null = null

  constructor(private readonly settings: DnsSettings = NO_HOSTS) {
    if (settings.servers.length > 0) {
      this.nameservers = new dns.promises.Resolver(QUERY)
      this.nameservers.setServers([...settings.servers])
    }
  }

  /** True when names resolve as Node's default would (no hosts file entries, no nameservers): connections need no `lookup`. Not so with a hosts file that has entries (`/etc/hosts` by default). */
  get systemOnly(): boolean {
    return this.settings.hosts.size === 0 && this.nameservers === null
  }

  /** For `net.connect`/`tls.connect`/`http.request`'s `lookup` option. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    const local = this.settings.hosts.get(hostname.toLowerCase())
    if (!local && !this.nameservers) return dns.lookup(hostname, options, callback)
    const answer = (addresses: readonly LookupAddress[]) => {
      const list = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses
      if (list.length === 0) return callback(dnsError('ENOTFOUND', `no address of family ${options.family} for ${hostname}`, hostname), '', 0)
      if (options.all) return (callback as unknown as (err: null, addresses: LookupAddress[]) => void)(null, [...list])
      callback(null, list[0].address, list[0].family)
    }
    if (local) return process.nextTick(answer, local)
    // the callback runs outside the promise: what it throws is the socket's, as with dns.lookup
    void this.resolve(hostname).then((r) => process.nextTick(() => ('error' in r ? callback(dnsError(r.code, r.error, hostname), '', 0) : answer(r.addresses))))
  }

  /** The addresses of `name` (an IP address is its own), from the hosts file, the cache, or a query. Never rejects. */
  resolve(name: string): Promise<Resolution> {
    const family = isIP(name)
    if (family) return Promise.resolve({addresses: [{address: name, family}], type: family === 4 ? 'A' : 'AAAA', expires: Infinity})
    const key = name.toLowerCase()
    const local = this.settings.hosts.get(key)
    if (local) return Promise.resolve({addresses: [...local], type: local[0].family === 4 ? 'A' : 'AAAA', expires: Infinity})
    const now = Date.now()
    const cached = this.cache.get(key)
    if (cached && cached.expires > now) return Promise.resolve(cached)
    let p = this.pending.get(key)
    if (!p) {
      p = this.query(name).then((r) => {
        this.pending.delete(key)
        const old = this.cache.get(key)
        // a failed refresh keeps a good answer while it may still be given stale
        if ('error' in r && old && !('error' in old) && this.staleUntil(old) > Date.now()) return old
        this.cache.delete(key)
        if (this.staleUntil(r) > Date.now()) {
          if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!)
          this.cache.set(key, r)
        }
        return r
      })
      this.pending.set(key, p)
    }
    // past its TTL, a good answer is given at once while the query runs
    if (cached && !('error' in cached) && this.staleUntil(cached) > now) return Promise.resolve(cached)
    return p
  }

  /** Until when an answer may be given: a good one `dns_stale_ttl` past its TTL, a failure until its TTL. */
  private staleUntil(r: Resolution): number {
    return 'error' in r ? r.expires : r.expires + this.settings.staleTtl * 1000
  }

  private async query(name: string): Promise<Resolution> {
    const ns = this.nameservers
    const validMs = this.settings.validTtl === null ? null : this.settings.validTtl * 1000
    try {
      if (!ns) {
        const addresses = await dns.promises.lookup(name, {all: true})
        return {addresses, type: addresses[0].family === 4 ? 'A' : 'AAAA', expires: Date.now() + (validMs ?? SYSTEM_ANSWER_MS)}
      }
      let records: dns.RecordWithTtl[]
      let family: 4 | 6 = 4
      try {
        records = await ns.resolve4(name, {ttl: true})
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== dns.NODATA) throw err
        records = await ns.resolve6(name, {ttl: true})
        family = 6
      }
      const ttlMs = validMs ?? Math.min(...records.map((r) => r.ttl)) * 1000
      return {addresses: records.map((r) => ({address: r.address, family})), type: family === 4 ? 'A' : 'AAAA', expires: Date.now() + ttlMs}
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      const notFound = code === dns.NOTFOUND || code === dns.NODATA
      return {
        // Kong's DNS client's words
        error: code === dns.NOTFOUND ? 'dns server error: 3 name error' : code === dns.NODATA ? 'dns client error: 101 empty record received' : `dns client error: ${code ?? (err as Error).message}`,
        code: notFound ? 'ENOTFOUND' : 'EAI_AGAIN',
        expires: Date.now() + (notFound ? this.settings.notFoundTtl : this.settings.errorTtl) * 1000,
      }
    }
  }
}

function dnsError(code: string, message: string, hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), {code, hostname, syscall: 'getaddrinfo'})
}
