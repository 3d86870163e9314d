/** file-log's config, as Kong 3.9's (kong/plugins/file-log/schema.lua). */
import {definePluginSchema} from '../../pdk/index.js'

// Kong's `^[^*&%%\`]+$` (a Lua pattern): none of * & % \ `
const FILENAME = /^[^*&%\\`]+$/

export const schema = definePluginSchema({
  fields: [
    ['path', {
      type: 'string',
      required: true,
      description: "The file path of the output log file. The plugin creates the log file if it doesn't exist yet.",
      custom: (v: string) => (FILENAME.test(v) ? null : 'not a valid filename'),
    }],
    ['reopen', {type: 'boolean', required: true, default: false, description: 'Determines whether the log file is closed and reopened on every request.'}],
    ['custom_fields_by_lua', {
      type: 'map',
      keys: {type: 'string', len_min: 1},
      values: {type: 'string', len_min: 1},
      description: 'Lua code as a key-value map',
      // Kong's typedefs.lua_code: kctl runs no Lua
      custom: (v: Record<string, string>) => (Object.keys(v).length === 0 ? null : 'Lua code is not supported: kctl runs no Lua, leave custom_fields_by_lua empty'),
    }],
  ],
})
