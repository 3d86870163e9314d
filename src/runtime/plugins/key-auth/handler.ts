/**
 * key-auth: finds an API key in a header, the query string or the body (in `key_names`
 * order), maps it to a consumer, or falls back to the `anonymous` consumer.
 *
 * The hot path is synchronous: only `key_in_body` needs the body, and then only the
 * first time it is read (one await); header and query lookups cost no promise.
 */
import {acceptAnonymous, acceptCredential, GATEWAY_VERSION, indexCredentials, type Credential, type CredentialIndex, type PluginContext, type PluginEntities, type PluginHandler, type ConfigOf} from '../../pdk/index.js'
import {schema} from './schema.js'

type Config = ConfigOf<typeof schema>

export const handler: PluginHandler<Config, CredentialIndex> = {
  name: 'key-auth',
  version: GATEWAY_VERSION,
  priority: 1250,
  prepare: (e: PluginEntities) => indexCredentials(e.consumers, e.keyauth_credentials, 'key'),
  access(k, conf, index) {
    if (!conf.run_on_preflight && k.method === 'OPTIONS') return
    // Another auth plugin already authenticated: with anonymous set, this one is optional.
    if (conf.anonymous && k.credential) return
    if (conf.key_in_body && k.bufferedBody === null) return k.body().then(() => authenticate(k, conf, index))
    authenticate(k, conf, index)
  },
}

function authenticate(k: PluginContext, conf: Config, index: CredentialIndex): void {
  const key = findKey(k, conf)
  const found = key === null ? undefined : index.byKey.get(key)
  if (found && !expired(found.credential)) return acceptCredential(k, found.consumer, found.credential)
  if (acceptAnonymous(k, conf.anonymous, index)) return
  const www = {'www-authenticate': conf.realm ? `Key realm="${conf.realm}"` : 'Key'}
  k.error(401, key === null ? 'No API key found in request' : 'Invalid authentication credentials', www)
}

/** Kong drops a key once its `ttl` has run out; it no longer authenticates. */
const expired = (c: Credential): boolean => typeof c.ttl === 'number' && c.ttl !== 0 && (typeof c.created_at === 'number' ? c.created_at : 0) + c.ttl <= Date.now() / 1000

function findKey(k: PluginContext, conf: Config): string | null {
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
