/**
 * Reusable field definitions, as Kong's `db/schema/typedefs.lua`: the same messages for
 * the same mistakes, wherever the field appears.
 */
import {createPrivateKey, X509Certificate} from 'node:crypto'
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
