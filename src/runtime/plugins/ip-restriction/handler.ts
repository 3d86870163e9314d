/**
 * ip-restriction: refuses clients by address. `deny` is checked first, then `allow`
 * (an address outside a non-empty allow list is refused), as Kong's handler does.
 * Lists compile once per config into node:net BlockLists.
 */
import {BlockList, isIPv4} from 'node:net'
import {GATEWAY_VERSION, type PluginHandler, type ConfigOf} from '../../pdk/index.js'
import {schema} from './schema.js'

type Config = ConfigOf<typeof schema>

const compiled = new WeakMap<object, {allow: BlockList | null; deny: BlockList | null}>()

function blockList(entries: string[] | null | undefined): BlockList | null {
  if (!entries?.length) return null
  const b = new BlockList()
  for (const e of entries) {
    const [ip, bits] = e.split('/')
    const type = isIPv4(ip) ? 'ipv4' : 'ipv6'
    if (bits === undefined) b.addAddress(ip, type)
    else b.addSubnet(ip, Number(bits), type)
  }
  return b
}

/** A dual-stack socket reports IPv4 clients as `::ffff:a.b.c.d`; match them as IPv4. */
function clientAddress(ip: string): [string, 'ipv4' | 'ipv6'] {
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip
  return isIPv4(v4) ? [v4, 'ipv4'] : [ip, 'ipv6']
}

export const handler: PluginHandler<Config> = {
  name: 'ip-restriction',
  version: GATEWAY_VERSION,
  priority: 990,
  access(k, conf) {
    let lists = compiled.get(conf)
    if (!lists) compiled.set(conf, (lists = {allow: blockList(conf.allow), deny: blockList(conf.deny)}))
    if (!k.ip) return k.error(403, 'Cannot identify the client IP address, unix domain sockets are not supported.')
    const [ip, type] = clientAddress(k.ip)
    const refused = lists.deny?.check(ip, type) || (lists.allow !== null && !lists.allow.check(ip, type))
    if (!refused) return
    const message = conf.message ?? `IP address not allowed: ${ip}`
    // Kong logs each refusal at warn
    k.log.warn(message)
    k.error(conf.status ?? 403, message)
  },
}
