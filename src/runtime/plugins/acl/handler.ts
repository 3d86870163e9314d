/**
 * acl: lets a request through by the authenticated consumer's groups (allow or deny), or
 * by the groups an auth plugin authenticated (`kong.ctx.shared.authenticated_groups`):
 * those decide without a consumer, for an anonymous consumer and, with
 * `always_use_authenticated_groups`, for every consumer, as in Kong. A consumer with no
 * group is refused by an allow list (401 when anonymous, 403 otherwise) and passes a
 * deny list with an empty X-Consumer-Groups.
 */
import {GATEWAY_VERSION, type PluginEntities, type PluginHandler, type ConfigOf} from '../../pdk/index.js'
import {schema} from './schema.js'

type Config = ConfigOf<typeof schema>

const FORBIDDEN = 'You cannot consume this service'

/** `kong.ctx.shared.authenticated_groups` when an auth plugin set a list there (Kong's `get_authenticated_groups`). */
function authenticatedGroups(shared: Record<string, unknown>): string[] | undefined {
  const groups = shared.authenticated_groups
  return Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : undefined
}

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
    const deny = Boolean(conf.deny?.length)
    const listed = ((deny ? conf.deny : conf.allow) ?? []) as string[]
    const blocked = (groups: readonly string[]) => groups.some((g) => listed.includes(g)) === deny
    const refuse = () => (k.credential ? k.error(403, FORBIDDEN) : k.error(401, 'Unauthorized'))
    // Kong's current consumer: the authenticated one, else the credential's
    const consumerId = k.consumer?.id ?? k.credential?.consumer?.id
    // authenticated groups decide for a request without a consumer, for an anonymous
    // consumer (no credential), and with always_use_authenticated_groups for any
    const authenticated = !consumerId || !k.credential || conf.always_use_authenticated_groups ? authenticatedGroups(k.shared) : undefined
    if (authenticated) {
      if (blocked(authenticated)) return k.error(403, FORBIDDEN)
      // Kong sends them only past an allow list: its deny check yields no header value here
      if (!deny && !conf.hide_groups_header) k.setUpstreamHeader('x-authenticated-groups', authenticated.join(', '))
      return
    }
    if (!consumerId) return refuse()
    const groups = groupsByConsumer.get(consumerId)
    if (!groups && !deny) return refuse()
    if (blocked(groups ?? [])) return k.error(403, FORBIDDEN)
    if (!conf.hide_groups_header) k.setUpstreamHeader('x-consumer-groups', (groups ?? []).join(', '))
  },
}
