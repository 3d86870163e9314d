/**
 * What a plugin is made of: a handler (name, version, priority and only the phases it
 * uses) and a config schema written in the entity schema vocabulary (schema/field.ts),
 * so config errors read like Kong's (`config.minute: …`) and defaults fill the same way.
 */
import type {EntitySchema, FieldList} from '../schema/field.js'
import type {EntitySet} from '../proxy/snapshot.js'
import type {PluginContext} from './context.js'

export interface PluginConfigSchema {
  /** The fields of `config`. */
  fields: FieldList
  /** Whole-config checks, as entity checks: `{field: message}` or `{'@entity': message}`. */
  entity_checks?: EntitySchema['entity_checks']
  /**
   * Kong's `custom_validator` on the config record: runs once every field is valid; a
   * message is the error of `config` itself (`config: <message>`), or null.
   */
  custom_validator?: (config: Record<string, any>) => string | null
  /**
   * Refusals that only apply on a control plane (what DPs cannot do without a database):
   * a message for the whole config, or null.
   */
  control_plane_check?: (config: Record<string, any>) => string | null
  /** Kong's `typedefs.no_consumer`: the plugin cannot be scoped to a consumer. */
  no_consumer?: boolean
}

/**
 * The phases a handler may implement. Each receives the request's plugin context, the
 * instance's validated config and the data its `prepare` built from the snapshot.
 * A phase may return a promise; synchronous phases cost no await.
 */
export interface PluginHandler<C = any, D = any> {
  name: string
  version: string
  /** Higher runs first (Kong's PRIORITY). */
  priority: number
  /** Built once per snapshot, off the request path (credential indexes, parsed config). */
  prepare?(entities: EntitySet): D
  /** Before proxying: authenticate, limit, rewrite the upstream request, or exit. */
  access?(k: PluginContext, conf: C, data: D): void | Promise<void>
  /** Upstream response headers arrived: change `k.response` before they are sent. */
  response?(k: PluginContext, conf: C, data: D): void
  /** After the client got the response; errors are only logged. */
  log?(k: PluginContext, conf: C, data: D): void
}

/**
 * What a plugin stores besides instances of its config, from its own folder: entities
 * (Kong's daos.lua: key-auth's keyauth_credentials), which the Admin API, declarative
 * files, exports and the proxy snapshot pick up from the registry, and tables of its own
 * (rate-limiting's counters). Migrations run after the core ones, in registry order;
 * each entity's table is created by `<plugin>/000_base`.
 */
export interface PluginStorage {
  entities?: readonly EntitySchema[]
  /** Named `<plugin>/NNN_what`; each runs once, recorded like the core migrations. */
  migrations?: ReadonlyArray<{name: string; up: () => string[]}>
}
