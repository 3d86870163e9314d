/** Plugin `config` validation for the declarative engine: the same registry the node uses. */
import {findPlugin} from '../plugins/registry.js'
import type {ValidateOptions} from '../schema/validate.js'

export const checkPluginConfig: NonNullable<ValidateOptions['checkJson']> = (path, value, entity) => {
  if (path !== 'config' || typeof entity.name !== 'string') return {value}
  const plugin = findPlugin(entity.name)
  // An unknown plugin is reported once, on `name`, by the plugins schema.
  return plugin ? plugin.validateConfig(value ?? {}) : {value}
}
