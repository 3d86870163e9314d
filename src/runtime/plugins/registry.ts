/**
 * The plugins this runtime bundles, in one explicit list. A plugin is a folder with a
 * handler and a config schema; adding one touches that folder and this list.
 */
import type {FieldErrors} from '../schema/validate.js'

export interface PluginDefinition {
  name: string
  version: string
  priority: number
  /** Validates and fills defaults of `config`; returns the config or the errors. */
  validateConfig(config: unknown): {value: unknown; errors?: FieldErrors | string}
  /** Kong-style `/schemas/plugins/{name}` body. */
  describe(): Record<string, unknown>
}

const BUNDLED: PluginDefinition[] = []

export function bundledPlugins(): readonly PluginDefinition[] {
  return BUNDLED
}

export function findPlugin(name: string): PluginDefinition | undefined {
  return BUNDLED.find((p) => p.name === name)
}

export const notEnabledMessage = (name: string) => `plugin '${name}' not enabled; add it to the 'plugins' configuration property`
