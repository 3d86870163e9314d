import {definePluginSchema} from '../../pdk/index.js'

const set = (v: unknown) => Array.isArray(v) && v.length > 0

export const schema = definePluginSchema({
  no_consumer: true,
  fields: [
    ['allow', {type: 'array', elements: {type: 'string'}, description: 'Groups allowed; exclusive with `deny`.'}],
    ['deny', {type: 'array', elements: {type: 'string'}, description: 'Groups denied; exclusive with `allow`.'}],
    ['hide_groups_header', {type: 'boolean', required: true, default: false, description: 'Do not send X-Consumer-Groups upstream.'}],
    ['always_use_authenticated_groups', {type: 'boolean', required: true, default: false, description: 'Use groups set by an auth plugin even with a consumer.'}],
    ['include_consumer_groups', {type: 'boolean', required: true, default: false, description: 'Also match consumer groups (not supported: no consumer groups here).'}],
  ],
  entity_checks: [
    (c) => (set(c.allow) && set(c.deny) ? {'@entity': "only one of these fields must be non-empty: 'config.allow', 'config.deny'"} : null),
    (c) => (!set(c.allow) && !set(c.deny) ? {'@entity': "at least one of these fields must be non-empty: 'config.allow', 'config.deny'"} : null),
  ],
})
