/**
 * Reusable field definitions, as Kong's `db/schema/typedefs.lua`: the same messages for
 * the same mistakes, wherever the field appears.
 */
import {createPrivateKey, X509Certificate} from 'node:crypto'
import {isIP} from 'node:net'
import type {ScalarOf} from './field.js'

const NAME_RE = /^[\p{L}\p{N}.\-_~]+$/u
export const name = (description: string): ScalarOf<'string'> => ({
  type: 'string',
  unique: true,
  description,
  custom: (v: string) =>
    NAME_RE.test(v) ? null : `invalid value '${v}': the only accepted ascii characters are alphanumerics or ., -, _, and ~`,
})

const HOSTNAME_RE = /^(?=.{1,253}$)([a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?)(\.[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?)*\.?$/
const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

export function isIpv4(s: string): boolean {
  const m = IPV4_RE.exec(s)
  return m !== null && m.slice(1).every((p) => Number(p) <= 255)
}
export function isIpv6(s: string): boolean {
  const bare = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s
  return bare.includes(':') && /^[0-9a-fA-F:.]+$/.test(bare)
}
export function isHostname(s: string): boolean {
  return HOSTNAME_RE.test(s) && !/^\d+(\.\d+)*$/.test(s)
}
export function validHost(s: string): boolean {
  return isIpv4(s) || isIpv6(s) || isHostname(s)
}

export const host = (description: string): ScalarOf<'string'> => ({
  type: 'string',
  description,
  custom: (v: string) => (validHost(v) ? null : `invalid value: ${v}`),
})

/** A host as routes and SNIs accept it: one `*` wildcard at either end. */
export const wildcardHost = (description: string): ScalarOf<'string'> => ({
  type: 'string',
  description,
  custom: (v: string) => {
    const stars = v.split('*').length - 1
    if (stars > 1) return 'only one wildcard must be specified'
    if (stars === 1 && !v.startsWith('*.') && !v.endsWith('.*')) {
      return 'wildcard must be leftmost or rightmost character'
    }
    const plain = v.replace(/^\*\./, 'x.').replace(/\.\*$/, '.x')
    const [h, port] = splitHostPort(plain)
    if (port !== undefined && !(Number(port) >= 0 && Number(port) <= 65535)) return `invalid port number`
    return validHost(h) ? null : `invalid hostname: ${v}`
  },
})

/** Kong's `wildcard_host` (SNI names): one `*` at either end, and neither an IP address nor a port. */
export const sniName = (description: string): ScalarOf<'string'> => ({
  type: 'string',
  description,
  custom: (v: string) => {
    const star = v.indexOf('*')
    if (star !== -1 && star !== 0 && star !== v.length - 1) return 'wildcard must be leftmost or rightmost character'
    if (v.split('*').length > 2) return 'only one wildcard must be specified'
    return serverNameProblem(v.replaceAll('*', 'wildcard'))
  },
})

/** Kong's `typedefs.sni` (a TLS server name): a hostname, neither an IP address nor with a port. */
export const sni = (description: string): ScalarOf<'string'> => ({
  type: 'string',
  description,
  custom: serverNameProblem,
})

const IPV4_PORT_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?::(\d+))?$/

/**
 * Kong's checks of a server name after `normalize_ip`: what it takes for an address
 * (two colons or more: IPv6; digits and dots: IPv4) must be one and is refused as an IP;
 * a name must be a hostname, without a port.
 */
function serverNameProblem(host: string): string | null {
  const invalid = `invalid value: ${host}`
  const colons = host.split(':').length - 1
  if (colons > 1) {
    const m = /^\[([^\]]*)\](?::(\d+))?$/.exec(host)
    if (m) return isIP(m[1]!) === 6 ? (m[2] !== undefined && Number(m[2]) > 65535 ? 'must not have a port' : 'must not be an IP') : invalid
    return isIP(host) === 6 ? 'must not be an IP' : invalid
  }
  if (/^[\d.]+$/.test(host.replace(/:/g, ''))) {
    const m = IPV4_PORT_RE.exec(host)
    if (!m || m.slice(1, 5).some((p) => Number(p) > 255)) return invalid
    return m[5] !== undefined && Number(m[5]) > 65535 ? 'must not have a port' : 'must not be an IP'
  }
  const [name, port] = splitHostPort(host)
  if (port !== undefined && !/^\d+$/.test(port)) return invalid
  if (!isHostname(name)) return invalid
  return port === undefined ? null : 'must not have a port'
}

export function splitHostPort(s: string): [string, string | undefined] {
  if (s.startsWith('[')) {
    const end = s.indexOf(']')
    const rest = s.slice(end + 1)
    return [s.slice(0, end + 1), rest.startsWith(':') ? rest.slice(1) : undefined]
  }
  const i = s.lastIndexOf(':')
  if (i > 0 && s.indexOf(':') === i) return [s.slice(0, i), s.slice(i + 1)]
  return [s, undefined]
}

export const port = (description: string, dflt?: number): ScalarOf<'integer'> => ({
  type: 'integer',
  between: [0, 65535],
  description,
  ...(dflt === undefined ? {} : {default: dflt}),
})

export const timeout = (description: string): ScalarOf<'integer'> => ({
  type: 'integer',
  between: [1, 2 ** 31 - 2],
  default: 60000,
  description,
})

export const path = (description: string): ScalarOf<'string'> => ({
  type: 'string',
  starts_with: '/',
  description,
  custom: (v: string) => (/[?#]/.test(v) ? 'invalid path: must not contain a query or fragment' : null),
})

export const pem = (description: string, what: 'certificate' | 'key'): ScalarOf<'string'> => ({
  type: 'string',
  description,
  custom: (v: string) => {
    const fn = what === 'certificate' ? 'x509.new' : 'pkey.new'
    const ok = what === 'certificate' ? /-----BEGIN CERTIFICATE-----/.test(v) : /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(v)
    if (!ok) return `invalid ${what}: ${fn}: could not parse PEM`
    // a PEM whose content is no certificate (key) is refused with OpenSSL's reason, as Kong's
    try {
      if (what === 'certificate') new X509Certificate(v)
      else createPrivateKey(v)
    } catch (err) {
      return `invalid ${what}: ${fn}: ${(err as Error).message}`
    }
    return null
  },
})

/** Kong 3.9's protocols (`kong/constants.lua`), sorted; ws and wss are Kong Enterprise's. */
export const protocols = ['grpc', 'grpcs', 'http', 'https', 'tcp', 'tls', 'tls_passthrough', 'udp'] as const
