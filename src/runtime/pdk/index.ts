/**
 * The plugin development kit: everything a plugin may use, and nothing else (Kong's
 * `kong/pdk`). A plugin (`runtime/plugins/<name>/`) imports this folder and its own
 * files only; scripts/check-cycles.js enforces it.
 *
 * - `handler.ts`, `types.ts`: what a plugin is (handler with its phases and state slot,
 *   config schema, storage) and what it is handed (instance, entities, environment).
 * - `context.ts`: `PluginContext`, the request as a plugin sees it, over the small
 *   request/response view of `request.ts` that the proxy's context extends.
 * - `state.ts`: `PluginStates`, the per-proxy slots plugins declare (the proxy holds one
 *   and names no plugin).
 * - `log.ts`: `serialize`, what logging plugins write about a request (Kong's
 *   `kong.log.serialize()`), with the values plugins set (`k.setSerializeValue`).
 * - Helpers several plugins share: `auth.ts` (credential index, consumer, anonymous),
 *   `transform.ts` (the transformers' operations), `typedefs.ts` (shared field shapes),
 *   and the schema vocabulary and gateway version re-exported below.
 *
 * The PDK may import the runtime's lower layers (schema vocabulary, logger, version) and
 * Node; never `proxy/`, `plugins/` or `admin/`. The proxy (the runner) imports the PDK,
 * not the other way round.
 */
export type {PluginContext} from './context.js'
export type {PluginHandler} from './handler.js'
export {definePluginSchema} from './types.js'
export type {ConfigOf, Consumer, Credential, PluginConfigSchema, PluginEntities, PluginEnvironment, PluginExit, PluginInstance, PluginStateSlot, PluginStorage, Route, Service, StoredEntity} from './types.js'
export {PluginStates} from './state.js'
export {serialize, type SerializedRequest} from './log.js'
export {acceptAnonymous, acceptCredential, consumerHeaders, findConsumer, indexCredentials, type CredentialIndex} from './auth.js'
export {headerName, host, sni} from './typedefs.js'
export {GATEWAY_VERSION} from '../kit/version.js'
export {createdAt, defineEntity, idField, tagsField, type EntitySchema, type Field, type FieldList} from '../schema/field.js'
