/** Kong's `/schemas/plugins/{name}` body for a bundled plugin. */
import type {PluginDefinition} from '../plugins/definition.js'
import {describeFields} from './schemas.js'

/** The plugin entity's fields with `config` expanded from the plugin's own schema. */
export function describePlugin(def: PluginDefinition): Record<string, unknown> {
  const {schema} = def
  const foreign = (reference: string) => ({type: 'foreign', reference, eq: null})
  return {
    name: def.name,
    fields: [
      {consumer: schema.no_consumer ? foreign('consumers') : {type: 'foreign', reference: 'consumers'}},
      {protocols: {type: 'set', required: true, default: ['grpc', 'grpcs', 'http', 'https'], elements: {type: 'string', one_of: ['grpc', 'grpcs', 'http', 'https']}}},
      {config: {type: 'record', required: true, fields: describeFields(schema.fields)}},
    ],
  }
}
