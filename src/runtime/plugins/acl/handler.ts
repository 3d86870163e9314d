/**
 * acl: lets a request through by the authenticated consumer's groups (allow or deny), or
 * by the groups an auth plugin authenticated (`kong.ctx.shared.authenticated_groups`):
 * those decide without a consumer, for an anonymous consumer and, with
 * `always_use_authenticated_groups`, for every consumer, as in Kong. A consumer with no
 * group is refused by an allow list (401 when anonymous, 403 otherwise) and passes a
 * deny list.
 */
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
    // the schema's checks make exactly one of allow and deny non-empty
    const deny = !conf.allow?.length
    const listed = (deny ? conf.deny : conf.allow) as string[]
    const blocked = (groups: readonly string[]) => groups.some((g) => listed.includes(g)) === deny
    // groups an auth plugin vouched for (Kong's kong.ctx.shared.authenticated_groups)
    const authenticated = k.shared.authenticated_groups as string[] | undefined
    const refuse = () => (k.credential ? k.error(403, 'You cannot consume this service') : k.error(401, 'Unauthorized'))
    // Kong: authenticated groups decide for a request without a consumer, for an
    // anonymous one, and (always_use_authenticated_groups) for any consumer
    const useAuthenticated = authenticated && (!k.consumer || !k.credential || conf.always_use_authenticated_groups)
    if (!k.consumer && !authenticated) return refuse()
    if (useAuthenticated) {
      if (blocked(authenticated)) return k.error(403, 'You cannot consume this service')
      if (!conf.hide_groups_header) k.setUpstreamHeader('x-authenticated-groups', authenticated.join(', '))
      return
    }
    const groups = groupsByConsumer.get(k.consumer!.id)
    if (!groups && !deny) return refuse()
    if (blocked(groups ?? [])) return k.error(403, 'You cannot consume this service')
    if (!conf.hide_groups_header && groups) k.setUpstreamHeader('x-consumer-groups', groups.join(', '))
  },
}
