/**
 * Turns a plugin folder (handler + config schema) into the registry's PluginDefinition:
 * config validation reuses the entity validator, so defaults fill and errors read as
 * Kong's (`config.minute: expected a number`).
 */
import {describeFields} from '../admin/schemas.js'
import type {EntitySchema} from '../schema/field.js'
import {SchemaViolation, validateEntity, type FieldErrors} from '../schema/validate.js'
import type {PluginDefinition} from './registry.js'
import type {PluginConfigSchema, PluginHandler, PluginStorage} from './types.js'

export function definePlugin(handler: PluginHandler, schema: PluginConfigSchema, storage: PluginStorage = {}): PluginDefinition {
  const configSchema: EntitySchema = {name: handler.name, singular: 'config', fields: schema.fields, entity_checks: schema.entity_checks}
  return {
    name: handler.name,
    version: handler.version,
    priority: handler.priority,
    handler,
    schema,
    storage,
    validateConfig(config, opts = {}) {
      if (config === null || config === undefined) config = {}
      if (typeof config !== 'object' || Array.isArray(config)) return {value: config, errors: 'expected a record'}
      try {
        // Only form bodies are coerced (`config.minute=5`); JSON `"true"` for a boolean is
        // refused, as Kong refuses it.
        const value = validateEntity(configSchema, config as Record<string, unknown>, {defaults: true, coerce: opts.coerce === true})
        const invalid = schema.custom_validator?.(value)
        if (invalid) return {value, errors: invalid}
        const refused = opts.controlPlane ? schema.control_plane_check?.(value) : null
        return refused ? {value, errors: {'@entity': [refused]}} : {value}
      } catch (err) {
        if (err instanceof SchemaViolation) return {value: config, errors: err.fields as FieldErrors}
        throw err
      }
    },
    describe: () => describePlugin(handler.name, schema),
  }
}

/** Kong's `/schemas/plugins/{name}` shape: the plugin entity's fields with `config` expanded. */
function describePlugin(name: string, schema: PluginConfigSchema): Record<string, unknown> {
  const foreign = (reference: string) => ({type: 'foreign', reference, eq: null})
  return {
    name,
    fields: [
      {consumer: schema.no_consumer ? foreign('consumers') : {type: 'foreign', reference: 'consumers'}},
      {protocols: {type: 'set', required: true, default: ['grpc', 'grpcs', 'http', 'https'], elements: {type: 'string', one_of: ['grpc', 'grpcs', 'http', 'https']}}},
      {config: {type: 'record', required: true, fields: describeFields(schema.fields)}},
    ],
  }
}
