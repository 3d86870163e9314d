/** acl: lets a request through by the authenticated consumer's groups (allow or deny). */
import {GATEWAY_VERSION, type PluginEntities, type PluginHandler, type ConfigOf} from '../../pdk/index.js'
import {schema} from './schema.js'

type Config = ConfigOf<typeof schema>

export const handler: PluginHandler<Config, Map<string, string[]>> = {
  name: 'acl',
  version: GATEWAY_VERSION,
  priority: 950,
  /** Groups by consumer id. */
  prepare(e: PluginEntities): Map<string, string[]> {
    const groups = new Map<string, string[]>()
    for (const a of e.acls ?? []) {
      const id = a.consumer?.id
      if (!id) continue
      const list = groups.get(id)
      const group = String(a.group) // required by the acls schema
      if (list) list.push(group)
      else groups.set(id, [group])
    }
    return groups
  },
  access(k, conf, groupsByConsumer) {
    if (!k.consumer) return k.error(401, 'Unauthorized')
    const groups = groupsByConsumer.get(k.consumer.id) ?? []
    // the schema's checks make exactly one of allow and deny non-empty
    const {allow, deny} = conf
    const allowed = allow ? groups.some((g) => allow.includes(g)) : !groups.some((g) => deny!.includes(g))
    if (!allowed) return k.error(403, 'You cannot consume this service')
    if (!conf.hide_groups_header && groups.length) k.setUpstreamHeader('x-consumer-groups', groups.join(', '))
  },
}
