/**
 * The client's address behind load balancers, as Kong's `trusted_ips`, `real_ip_header`
 * and `real_ip_recursive` settings (nginx's realip module) say. A connection from a trusted
 * address may name the real client in `real_ip_header` (X-Real-IP by default; with
 * X-Forwarded-For the last address, or with `real_ip_recursive` the last one not itself
 * trusted), and its X-Forwarded-Proto/Host/Port/Path/Prefix are forwarded as sent instead
 * of being replaced by what this node saw. The real address is what plugins (ip-restriction,
 * rate-limiting by ip), X-Real-IP and X-Forwarded-For upstream, and logs use.
 */
import {BlockList, isIP} from 'node:net'
import {parseCidr} from '../kit/cidr.js'

export interface RealIpSettings {
  /** Trusted addresses; null when none is (Kong's default). */
  trusted: BlockList | null
  /** `unix:` is listed: connections over a unix socket are trusted. */
  unix: boolean
  /** Lower-case header name, or `proxy_protocol`. */
  header: string
  recursive: boolean
}

export const NO_TRUSTED_IPS: RealIpSettings = {trusted: null, unix: false, header: 'x-real-ip', recursive: false}

export function realIpSettings(trustedIps: readonly string[], header: string, recursive: boolean): RealIpSettings {
  let trusted: BlockList | null = null
  for (const entry of trustedIps) {
    const c = parseCidr(entry)
    if (!c) continue
    trusted ??= new BlockList()
    trusted.addSubnet(c.address, c.prefix, c.family)
  }
  return {trusted, unix: trustedIps.includes('unix:'), header: header.toLowerCase(), recursive}
}

/**
 * The client's address for a connection from `socketAddress` (empty for a unix socket) with
 * these request headers, and whether that connection is trusted.
 */
export function clientAddress(socketAddress: string, headers: Record<string, string | string[] | undefined>, s: RealIpSettings): {address: string; trusted: boolean} {
  const address = unmapped(socketAddress)
  const trusted = address === '' ? s.unix : isTrusted(address, s)
  if (!trusted || s.header === 'proxy_protocol') return {address, trusted}
  const raw = headers[s.header]
  const value = Array.isArray(raw) ? raw.join(',') : raw
  if (!value) return {address, trusted}
  const candidates = value.split(',').map((x) => unmapped(withoutPort(x.trim()))).filter(Boolean)
  let real: string | undefined = candidates[candidates.length - 1]
  if (s.recursive) {
    // walk left past the trusted proxies; when all are trusted, the leftmost
    real = candidates[0]
    for (let i = candidates.length - 1; i >= 0; i--) {
      if (!isIP(candidates[i]) || !isTrusted(candidates[i], s)) {
        real = candidates[i]
        break
      }
    }
  }
  return {address: real && isIP(real) ? real : address, trusted}
}

function isTrusted(address: string, s: RealIpSettings): boolean {
  const family = isIP(address)
  return s.trusted !== null && family !== 0 && s.trusted.check(address, family === 6 ? 'ipv6' : 'ipv4')
}

/** `1.2.3.4:80` → `1.2.3.4`, `[::1]:80` → `::1` (nginx's realip module reads addresses with a port so). */
function withoutPort(a: string): string {
  if (a.startsWith('[')) {
    const end = a.indexOf(']')
    return end < 0 ? a : a.slice(1, end)
  }
  const colon = a.indexOf(':')
  return colon >= 0 && a.indexOf(':', colon + 1) < 0 ? a.slice(0, colon) : a
}

/** `::ffff:1.2.3.4` (an IPv4 client on a dual-stack socket) → `1.2.3.4`. */
export function unmapped(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address
}
