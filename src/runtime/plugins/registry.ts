/**
 * The plugins this runtime bundles, in one explicit list: the only place that names
 * them. A plugin is a folder with a handler and a config schema (see README.md); adding
 * one touches that folder and this list. The proxy, the Admin API, clustering and the
 * migrations reach plugins through this registry only.
 */
import type {EntitySchema} from '../schema/field.js'
import type {PluginHandler} from '../pdk/handler.js'
import type {PluginConfigSchema, PluginStorage} from '../pdk/types.js'
import {definePlugin, type PluginDefinition} from './definition.js'
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
import {handler as fileLog} from './file-log/handler.js'
import {schema as fileLogSchema} from './file-log/schema.js'
import {handler as requestTermination} from './request-termination/handler.js'
import {schema as requestTerminationSchema} from './request-termination/schema.js'

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
  [fileLog, fileLogSchema],
] as const satisfies ReadonlyArray<readonly [PluginHandler, PluginConfigSchema, PluginStorage?]>

/** The schemas of the entities bundled plugins store, as types (the schema registry derives kinds from them). */
export type BundledEntitySchema = (typeof BUNDLED)[number] extends infer B
  ? B extends readonly [unknown, unknown, {entities: ReadonlyArray<infer E>}]
    ? E
    : never
  : never

export type {PluginDefinition} from './definition.js'

let bundled: PluginDefinition[] | undefined

/**
 * Built on first use, so that importing the registry does no work. The bundled plugins,
 * then the custom ones `addCustomPlugin` added.
 */
export function bundledPlugins(): readonly PluginDefinition[] {
  return (bundled ??= BUNDLED.map(([handler, schema, storage]: readonly [PluginHandler, PluginConfigSchema, PluginStorage?]) => definePlugin(handler, schema, storage)))
}

/**
 * Adds a plugin besides the bundled ones, as Kong loads a custom plugin named in
 * `plugins = bundled, <name>`: for a program running a node in its own process (Kong's
 * test plugins, in the ports of Kong's specs), called before that node's Admin API and
 * proxy start. A custom plugin stores nothing (the migrations are the bundled plugins').
 * @throws Error when a plugin of that name is already there.
 */
export function addCustomPlugin(handler: PluginHandler, schema: PluginConfigSchema): void {
  const all = bundledPlugins() as PluginDefinition[]
  if (all.some((p) => p.name === handler.name)) throw new Error(`a plugin named '${handler.name}' is already loaded`)
  all.push(definePlugin(handler, schema))
}

/** The entities the bundled plugins store, in registry order (read without building the plugins). */
export function pluginEntities(): EntitySchema[] {
  return BUNDLED.flatMap(([, , storage]: readonly [PluginHandler, PluginConfigSchema, PluginStorage?]) => storage?.entities ?? [])
}

export function findPlugin(name: string): PluginDefinition | undefined {
  return bundledPlugins().find((p) => p.name === name)
}

export const notEnabledMessage = (name: string) => `plugin '${name}' not enabled; add it to the 'plugins' configuration property`

/**
 * The node's `/metrics` on the status listener is the prometheus plugin's (as Kong's
 * status API serves that plugin's endpoint): what it recorded in a proxy, merged across
 * worker processes, rendered with the node's own gauges. Named here, with the other
 * plugins, so the rest of the runtime names none.
 */
export {renderMetrics, type ConnectionCounts, type DataPlaneSeen, type NodeGauges} from './prometheus/exporter.js'
export {recordedMetrics} from './prometheus/handler.js'
export {Metrics, type MetricsDump} from './prometheus/metrics.js'
