import {createdAt, defineEntity, idField, tagsField, updatedAt} from '../field.js'
import * as t from '../typedefs.js'
import {findPlugin, notEnabledMessage} from '../../plugins/registry.js'

/**
 * A plugin instance. `config` is validated against the plugin's own schema by the
 * plugin registry (see runtime/plugins), which also fills its defaults.
 */
export const plugins = defineEntity({
  name: 'plugins',
  singular: 'plugin',
  endpoint_key: 'instance_name',
  unique_together: [['name', 'route', 'service', 'consumer']],
  fields: [
    idField(),
    ['name', {type: 'string', required: true, description: 'Name of the plugin (key-auth, rate-limiting, …).', custom: (v: string) => (findPlugin(v) ? null : notEnabledMessage(v))}],
    ['instance_name', {...t.name('Unique name of this plugin instance.')}],
    createdAt(),
    updatedAt(),
    ['route', {type: 'foreign', reference: 'routes', on_delete: 'cascade', description: 'Only run on requests matching this route.'}],
    ['service', {type: 'foreign', reference: 'services', on_delete: 'cascade', description: 'Only run on requests to this service.'}],
    ['consumer', {type: 'foreign', reference: 'consumers', on_delete: 'cascade', description: 'Only run for this authenticated consumer.'}],
    ['config', {type: 'json', default: {}, description: "The plugin's configuration, validated by the plugin's schema."}],
    ['protocols', {type: 'set', required: true, default: ['grpc', 'grpcs', 'http', 'https'], elements: {type: 'string', one_of: t.protocols}, description: 'Protocols the plugin runs on.'}],
    ['enabled', {type: 'boolean', required: true, default: true, description: 'Whether the plugin runs.'}],
    tagsField(),
    ['ordering', {type: 'json', description: 'Dynamic ordering (before/after other plugins).'}],
  ],
  // Auth plugins (Kong's `typedefs.no_consumer`) cannot be scoped to a consumer.
  entity_checks: [(e) => (e.consumer != null && typeof e.name === 'string' && findPlugin(e.name)?.schema.no_consumer ? {consumer: 'value must be null'} : null)],
})
