/** An address or CIDR block (`10.0.0.0/8`, `::1`, `192.168.1.1`) as node:net's BlockList takes it; null when it is neither. */
import {isIP} from 'node:net'

export function parseCidr(entry: string): {address: string; prefix: number; family: 'ipv4' | 'ipv6'} | null {
  const [address, bits, ...rest] = entry.split('/')
  const family = isIP(address)
  if (family === 0 || rest.length > 0) return null
  const max = family === 4 ? 32 : 128
  const prefix = bits === undefined ? max : /^\d+$/.test(bits) ? Number(bits) : NaN
  if (!(prefix >= 0 && prefix <= max)) return null
  return {address, prefix, family: family === 4 ? 'ipv4' : 'ipv6'}
}
