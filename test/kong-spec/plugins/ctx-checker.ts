/**
 * Kong's test plugin `ctx-checker` (spec/fixtures/custom_plugins/kong/plugins/ctx-checker),
 * loaded as a custom plugin in the spec node's process, as Kong's specs load it with
 * `plugins = bundled, ctx-checker`: in access, it sets `ctx_set_field` to `ctx_set_array`
 * (else `ctx_set_value`) in `kong.ctx.shared` or, with Kong's
 * default `ngx.ctx`, the request's credential (`authenticated_credential`, a credential
 * of no consumer). Its header_filter checks (`ctx_check_*`) are not used by the ported
 * specs and not carried.
 */
import {addCustomPlugin, bundledPlugins} from '../../../src/runtime/plugins/registry.js'
import {definePluginSchema, type ConfigOf, type PluginHandler} from '../../../src/runtime/pdk/index.js'

const schema = definePluginSchema({
  fields: [
    ['ctx_set_field', {type: 'string'}],
    ['ctx_set_value', {type: 'string', default: 'set_by_ctx_checker'}],
    ['ctx_set_array', {type: 'array', elements: {type: 'string'}}],
    ['ctx_check_field', {type: 'string'}],
    ['ctx_check_value', {type: 'string'}],
    ['ctx_check_array', {type: 'array', elements: {type: 'string'}}],
    ['ctx_kind', {type: 'string', default: 'ngx.ctx'}],
    ['ctx_throw_error', {type: 'boolean', default: false}],
  ],
})

type Config = ConfigOf<typeof schema>

const handler: PluginHandler<Config> = {
  name: 'ctx-checker',
  version: '0.1-t',
  priority: 1000,
  access(k, conf) {
    const field = conf.ctx_set_field
    if (!field) return
    const value = Array.isArray(conf.ctx_set_array) ? [...conf.ctx_set_array] : conf.ctx_set_value
    if (conf.ctx_kind === 'kong.ctx.shared') {
      k.shared[field] = value
      return
    }
    if (conf.ctx_kind !== 'ngx.ctx' || field !== 'authenticated_credential' || typeof value !== 'string') throw new Error(`ctx-checker: ${conf.ctx_kind}.${field} is not carried`)
    k.authenticate(k.consumer, {id: value})
  },
}

/** Loads the plugin into this process's node (once). */
export function loadCtxChecker(): void {
  if (!bundledPlugins().some((p) => p.name === 'ctx-checker')) addCustomPlugin(handler as PluginHandler, schema)
}
