/**
 * key-auth: finds an API key in a header, the query string or the body (in `key_names`
 * order), maps it to a consumer, or falls back to the `anonymous` consumer.
 *
 * The hot path is synchronous: only `key_in_body` needs the body, and then only the
 * first time it is read (one await); header and query lookups cost no promise.
 */
import {GATEWAY_VERSION} from '../../version.js'
import type {PluginContext} from '../context.js'
import {consumerHeaders, findConsumer} from '../fields.js'
import type {PluginHandler} from '../types.js'
import type {EntitySet} from '../../proxy/snapshot.js'

interface KeyIndex {
  keys: Map<string, {credential: any; consumer: any}>
  consumers: readonly any[]
}

export const handler: PluginHandler<any, KeyIndex> = {
  name: 'key-auth',
  version: GATEWAY_VERSION,
  priority: 1250,
  prepare(e: EntitySet): KeyIndex {
    const byId = new Map((e.consumers ?? []).map((c) => [c.id, c]))
    const keys = new Map<string, {credential: any; consumer: any}>()
    for (const c of e.keyauth_credentials ?? []) {
      const consumer = byId.get(c.consumer?.id)
      if (consumer) keys.set(c.key, {credential: c, consumer})
    }
    return {keys, consumers: e.consumers ?? []}
  },
  access(k, conf, index) {
    if (!conf.run_on_preflight && k.method === 'OPTIONS') return
    // Another auth plugin already authenticated: with anonymous set, this one is optional.
    if (conf.anonymous && k.credential) return
    if (conf.key_in_body && k.bufferedBody === null) return k.body().then(() => authenticate(k, conf, index))
    authenticate(k, conf, index)
  },
}

function authenticate(k: PluginContext, conf: any, index: KeyIndex): void {
  const key = findKey(k, conf)
  const found = key === null ? undefined : index.keys.get(key)
  if (found) {
    for (const [h, v] of Object.entries(consumerHeaders(found.consumer, found.credential))) k.setUpstreamHeader(h, v)
    return k.authenticate(found.consumer, found.credential)
  }
  if (conf.anonymous) {
    const anon = findConsumer(index.consumers, conf.anonymous)
    if (!anon) throw new Error(`anonymous consumer ${conf.anonymous} is configured but doesn't exist`)
    for (const [h, v] of Object.entries(consumerHeaders(anon, null))) k.setUpstreamHeader(h, v)
    return k.authenticate(anon, null)
  }
  const www = {'www-authenticate': conf.realm ? `Key realm="${conf.realm}"` : 'Key'}
  k.error(401, key === null ? 'No API key found in request' : 'Invalid authentication credentials', www)
}

function findKey(k: PluginContext, conf: any): string | null {
  for (const name of conf.key_names as string[]) {
    const lower = name.toLowerCase()
    if (conf.key_in_header && k.header(lower) !== undefined) {
      if (conf.hide_credentials) k.setUpstreamHeader(lower, null)
      return k.header(lower)!
    }
    if (conf.key_in_query && k.query.has(name)) {
      const v = k.query.get(name)!
      if (conf.hide_credentials) {
        const q = new URLSearchParams(k.query)
        q.delete(name)
        k.setUpstreamQuery(q)
      }
      return v
    }
    if (conf.key_in_body) {
      const v = keyInBody(k, name, conf.hide_credentials)
      if (v !== null) return v
    }
  }
  return null
}

/** Form or JSON bodies, as Kong reads them; the body was buffered before. */
function keyInBody(k: PluginContext, name: string, hide: boolean): string | null {
  const type = (k.header('content-type') ?? '').split(';')[0].trim().toLowerCase()
  const raw = (k.bufferedBody ?? Buffer.alloc(0)).toString('utf8')
  if (type === 'application/x-www-form-urlencoded') {
    const form = new URLSearchParams(raw)
    const v = form.get(name)
    if (v !== null && hide) {
      form.delete(name)
      k.setUpstreamBody(Buffer.from(form.toString()))
    }
    return v
  }
  if (type === 'application/json') {
    try {
      const obj = JSON.parse(raw)
      const v = obj?.[name]
      if (typeof v !== 'string') return null
      if (hide) {
        delete obj[name]
        k.setUpstreamBody(Buffer.from(JSON.stringify(obj)))
      }
      return v
    } catch {
      return null
    }
  }
  return null
}
