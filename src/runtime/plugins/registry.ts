/**
 * The plugins this runtime bundles, in one explicit list. A plugin is a folder with a
 * handler and a config schema; adding one touches that folder and this list.
 */
import type {EntitySchema} from '../schema/field.js'
import type {FieldErrors} from '../schema/validate.js'
import {definePlugin} from './define.js'
import type {PluginConfigSchema, PluginHandler, PluginStorage} from './types.js'
import {handler as acl} from './acl/handler.js'
import {schema as aclSchema} from './acl/schema.js'
import {storage as aclStorage} from './acl/credentials.js'
import {handler as basicAuth} from './basic-auth/handler.js'
import {schema as basicAuthSchema} from './basic-auth/schema.js'
import {storage as basicAuthStorage} from './basic-auth/credentials.js'
import {handler as cors} from './cors/handler.js'
import {schema as corsSchema} from './cors/schema.js'
import {handler as ipRestriction} from './ip-restriction/handler.js'
import {schema as ipRestrictionSchema} from './ip-restriction/schema.js'
import {handler as requestTransformer} from './request-transformer/handler.js'
import {schema as requestTransformerSchema} from './request-transformer/schema.js'
import {handler as responseTransformer} from './response-transformer/handler.js'
import {schema as responseTransformerSchema} from './response-transformer/schema.js'
import {handler as prometheus} from './prometheus/handler.js'
import {schema as prometheusSchema} from './prometheus/schema.js'
import {handler as correlationId} from './correlation-id/handler.js'
import {schema as correlationIdSchema} from './correlation-id/schema.js'
import {handler as keyAuth} from './key-auth/handler.js'
import {schema as keyAuthSchema} from './key-auth/schema.js'
import {storage as keyAuthStorage} from './key-auth/credentials.js'
import {handler as rateLimiting} from './rate-limiting/handler.js'
import {schema as rateLimitingSchema} from './rate-limiting/schema.js'
import {storage as rateLimitingStorage} from './rate-limiting/storage.js'
import {handler as requestTermination} from './request-termination/handler.js'
import {schema as requestTerminationSchema} from './request-termination/schema.js'

export interface PluginDefinition {
  name: string
  version: string
  priority: number
  handler: PluginHandler
  schema: PluginConfigSchema
  /** Entities and tables of its own (empty for most plugins). */
  storage: PluginStorage
  /**
   * Validates and fills defaults of `config`; returns the config or the errors.
   * `coerce`: values came from a form body (strings for numbers, booleans, arrays);
   * `controlPlane`: the node is a hybrid control plane (its schema's extra refusals apply).
   */
  validateConfig(config: unknown, opts?: {coerce?: boolean; controlPlane?: boolean}): {value: unknown; errors?: FieldErrors | string}
  /** Kong-style `/schemas/plugins/{name}` body. */
  describe(): Record<string, unknown>
}

/** handler, config schema, and what it stores: one line per bundled plugin. */
const BUNDLED = [
  [correlationId, correlationIdSchema],
  [keyAuth, keyAuthSchema, keyAuthStorage],
  [basicAuth, basicAuthSchema, basicAuthStorage],
  [acl, aclSchema, aclStorage],
  [rateLimiting, rateLimitingSchema, rateLimitingStorage],
  [requestTermination, requestTerminationSchema],
  [cors, corsSchema],
  [ipRestriction, ipRestrictionSchema],
  [requestTransformer, requestTransformerSchema],
  [responseTransformer, responseTransformerSchema],
  [prometheus, prometheusSchema],
] as const satisfies ReadonlyArray<readonly [PluginHandler, PluginConfigSchema, PluginStorage?]>

/** The schemas of the entities bundled plugins store, as types (the schema registry derives kinds from them). */
export type BundledEntitySchema = (typeof BUNDLED)[number] extends infer B
  ? B extends readonly [unknown, unknown, {entities: ReadonlyArray<infer E>}]
    ? E
    : never
  : never

let bundled: PluginDefinition[] | undefined

/** Built on first use, so that importing the registry does no work. */
export function bundledPlugins(): readonly PluginDefinition[] {
  return (bundled ??= BUNDLED.map(([handler, schema, storage]: readonly [PluginHandler, PluginConfigSchema, PluginStorage?]) => definePlugin(handler, schema, storage)))
}

/** The entities the bundled plugins store, in registry order (read without building the plugins). */
export function pluginEntities(): EntitySchema[] {
  return BUNDLED.flatMap(([, , storage]: readonly [PluginHandler, PluginConfigSchema, PluginStorage?]) => storage?.entities ?? [])
}

export function findPlugin(name: string): PluginDefinition | undefined {
  return bundledPlugins().find((p) => p.name === name)
}

export const notEnabledMessage = (name: string) => `plugin '${name}' not enabled; add it to the 'plugins' configuration property`
