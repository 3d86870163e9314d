/** ip-restriction's config, as Kong 3.9's (typedefs.ip_or_cidr elements). */
import {isIP} from 'node:net'
import {definePluginSchema, type Field} from '../../pdk/index.js'

/** Kong's `typedefs.ip_or_cidr`. */
export function ipOrCidr(v: string): string | null {
  const [ip, bits, ...rest] = v.split('/')
  const family = isIP(ip)
  const max = family === 4 ? 32 : 128
  const ok = family !== 0 && rest.length === 0 && (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= max))
  return ok ? null : `invalid ip or cidr range: '${v}'`
}

const list = (what: string) => ({type: 'array', elements: {type: 'string', custom: ipOrCidr}, description: `IPs or CIDR ranges ${what}.`}) as const satisfies Field
const set = (v: unknown) => Array.isArray(v) && v.length > 0

export const schema = definePluginSchema({
  fields: [
    ['allow', list('allowed; others are refused')],
    ['deny', list('refused')],
    ['status', {type: 'number', description: 'Status code of the refusal (403 by default).'}],
    ['message', {type: 'string', description: 'Message of the refusal (by default: IP address not allowed: <ip>).'}],
  ],
  entity_checks: [(c) => (!set(c.allow) && !set(c.deny) ? {'@entity': "at least one of these fields must be non-empty: 'config.allow', 'config.deny'"} : null)],
})
