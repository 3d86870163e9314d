/**
 * What a plugin is made of besides its handler (handler.ts): a config schema written in
 * the entity schema vocabulary (schema/field.ts), so config errors read like Kong's
 * (`config.minute: …`) and defaults fill the same way, what it stores, the per-proxy
 * state it may declare; and what it is handed (instance, entities, environment).
 */
import type pg from 'pg'
import type {EntityOf, EntitySchema, FieldList, RecordOf} from '../schema/field.js'
import type {consumers} from '../schema/entities/consumers.js'
import type {routes} from '../schema/entities/routes.js'
import type {services} from '../schema/entities/services.js'

/** The entities a request carries, typed from their schemas (the registry's `Entity<K>`). */
export type Route = EntityOf<typeof routes>
export type Service = EntityOf<typeof services>
export type Consumer = EntityOf<typeof consumers>
/** An entity some plugin stores (a credential: key-auth's, basic-auth's), read by field name. */
export type StoredEntity = Record<string, unknown> & {id: string}
/** A credential: a stored entity that belongs to a consumer. */
export type Credential = StoredEntity & {consumer?: {id: string} | null}

/**
 * A plugin's config schema with its literal field types kept, so that
 * `ConfigOf<typeof schema>` is the type of the validated `config` its handler receives.
 * Checks the schema against `PluginConfigSchema` and returns it unchanged.
 */
export function definePluginSchema<const S extends PluginConfigSchema>(schema: S): S {
  return schema
}

/** The validated config of a plugin whose schema is `S` (`ConfigOf<typeof schema>`). */
export type ConfigOf<S extends {fields: FieldList}> = RecordOf<S['fields']>

export interface PluginConfigSchema {
  /** The fields of `config`. */
  fields: FieldList
  /** Whole-config checks, as entity checks: `{field: message}` or `{'@entity': message}`. */
  entity_checks?: EntitySchema['entity_checks']
  /**
   * Kong's `custom_validator` on the config record: runs once every field is valid; a
   * message is the error of `config` itself (`config: <message>`), or null.
   */
  custom_validator?: (config: Record<string, unknown>) => string | null
  /**
   * Refusals that only apply on a control plane (what DPs cannot do without a database):
   * a message for the whole config, or null.
   */
  control_plane_check?: (config: Record<string, unknown>) => string | null
  /** Kong's `typedefs.no_consumer`: the plugin cannot be scoped to a consumer. */
  no_consumer?: boolean
}

/**
 * The configuration as a plugin's `prepare` reads it: entity arrays by kind (`consumers`,
 * the plugin's own entities such as `keyauth_credentials`); an absent kind means none.
 */
export interface PluginEntities {
  readonly consumers?: readonly Consumer[]
  /** The plugin's own entities (credentials belong to a consumer). */
  readonly [kind: string]: readonly Credential[] | undefined
}

/** One configured instance of a plugin, as the runner hands it to the plugin's phases. */
export interface PluginInstance {
  id: string
  name: string
  config: unknown
  protocols: readonly string[]
  /** Where the instance is configured (null: not scoped to one); rate-limiting keys its counters by it, as Kong does. */
  route: string | null
  service: string | null
}

/** What the node lends plugins for their state. */
export interface PluginEnvironment {
  /**
   * The node's Postgres, for plugins that keep data in it; absent on nodes without a
   * database (DB-less, data planes). Owned by whoever made the proxy: never ended by a plugin.
   */
  database?: pg.Pool
  /**
   * The CA certificates (PEM) a plugin verifies a server's certificate against: kong.conf
   * `lua_ssl_trusted_certificate`; absent: Node's roots.
   */
  trustedCertificates?: string[]
}

/**
 * State a plugin keeps in one proxy across requests (counters, client connections,
 * recorded metrics), declared by the plugin itself: the core never names it.
 */
export interface PluginStateSlot<S> {
  /** Makes the state, on the plugin's first use of `k.state` in this proxy. */
  create(env: PluginEnvironment): S
  /** Releases it when the proxy closes (connections to end); awaited. */
  close?(state: S): void | Promise<void>
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
  /**
   * Named `<plugin>/NNN_what`; each runs once, recorded like the core migrations, and says
   * whether nodes of the previous release keep working on what it leaves (db/migrations.ts).
   */
  migrations?: ReadonlyArray<{name: string; compatible: boolean; up: () => string[]}>
}

export interface PluginExit {
  status: number
  /** A Kong error message (`{"message": …, "request_id": …}`), or a raw body. */
  message?: string
  body?: string
  headers: Record<string, string>
}
