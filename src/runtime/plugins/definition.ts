/**
 * Turns a plugin folder (handler + config schema + storage) into the registry's
 * PluginDefinition: config validation reuses the entity validator, so defaults fill and
 * errors read as Kong's (`config.minute: expected a number`). How a definition is shown
 * on the Admin API (`/schemas/plugins/{name}`) is the Admin API's (admin/plugin-schema.ts).
 */
import type {EntitySchema} from '../schema/field.js'
import {SchemaViolation, validateEntity, type FieldErrors} from '../schema/validate.js'
import type {PluginHandler} from '../pdk/handler.js'
import type {PluginConfigSchema, PluginStorage} from '../pdk/types.js'

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
}

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
  }
}
