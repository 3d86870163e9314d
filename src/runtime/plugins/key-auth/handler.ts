/**
 * key-auth: finds an API key in a header, the query string or the body (for each of
 * `key_names` in order: header, then query, then body), maps it to a consumer, or falls
 * back to the `anonymous` consumer. Kong's messages: no key (or an empty one) is
 * `No API key found in request`, a key sent twice under one name (two header lines, a
 * repeated query argument, a list in the body) is `Duplicate API key found`, an unknown
 * or expired key is `Unauthorized`; each a 401 with `WWW-Authenticate: Key`.
 *
 * The hot path is synchronous: only `key_in_body` needs the body, and then only when the
 * key was not found in a header or the query string.
 */
import {acceptAnonymous, acceptCredential, GATEWAY_VERSION, indexCredentials, type Credential, type CredentialIndex, type PluginContext, type PluginEntities, type PluginHandler, type ConfigOf} from '../../pdk/index.js'
import {readKeyBody, writeKeyBody, type KeyBody} from './body.js'
import {schema} from './schema.js'

type Config = ConfigOf<typeof schema>

const ERR_DUPLICATE_API_KEY = 'Duplicate API key found'
const ERR_NO_API_KEY = 'No API key found in request'
const ERR_INVALID_AUTH_CRED = 'Unauthorized'

export const handler: PluginHandler<Config, CredentialIndex> = {
  name: 'key-auth',
  version: GATEWAY_VERSION,
  priority: 1250,
  prepare: (e: PluginEntities) => indexCredentials(e.consumers, e.keyauth_credentials, 'key'),
  access(k, conf, index) {
    if (!conf.run_on_preflight && k.method === 'OPTIONS') return
    // Another auth plugin already authenticated: with anonymous set, this one is optional.
    if (conf.anonymous && k.credential) return
    const found = findKey(k, conf, null, [])
    if (found !== BODY_NEEDED) return authenticate(k, conf, index, found)
    return readKeyBody(k).then(async (body) => {
      const pending: Promise<void>[] = []
      const key = findKey(k, conf, body, pending) as Found
      await Promise.all(pending)
      authenticate(k, conf, index, key)
    })
  },
}

type Found = string | null | typeof DUPLICATE
const DUPLICATE = Symbol('duplicate')
const BODY_NEEDED = Symbol('body needed')

function authenticate(k: PluginContext, conf: Config, index: CredentialIndex, key: Found): void {
  const found = typeof key === 'string' && key !== '' ? index.byKey.get(key) : undefined
  if (found && !expired(found.credential)) return acceptCredential(k, found.consumer, found.credential)
  if (acceptAnonymous(k, conf.anonymous, index)) return
  const www = {'www-authenticate': conf.realm ? `Key realm="${conf.realm}"` : 'Key'}
  k.error(401, key === DUPLICATE ? ERR_DUPLICATE_API_KEY : key === null || key === '' ? ERR_NO_API_KEY : ERR_INVALID_AUTH_CRED, www)
}

/** Kong drops a key once its `ttl` has run out; it no longer authenticates. */
const expired = (c: Credential): boolean => typeof c.ttl === 'number' && c.ttl !== 0 && (typeof c.created_at === 'number' ? c.created_at : 0) + c.ttl <= Date.now() / 1000

/**
 * The key as Kong's do_authentication finds it: the first name with a string value
 * (even empty) wins; a list of values is a duplicate. `body` is null until read: then
 * BODY_NEEDED says the caller must read it and call again.
 */
function findKey(k: PluginContext, conf: Config, body: KeyBody | null, pending: Promise<void>[]): Found | typeof BODY_NEEDED {
  for (const name of conf.key_names as string[]) {
    let v: string[] | undefined
    if (conf.key_in_header) v = headerValues(k, name)
    if (!v && conf.key_in_query) v = queryValues(k, name)
    if (!v && conf.key_in_body) {
      if (body === null) return BODY_NEEDED
      v = body.values(name)
    }
    if (!v) continue
    if (v.length > 1) return DUPLICATE
    if (conf.hide_credentials) {
      const written = hide(k, name, conf.key_in_body ? body : null)
      if (written) pending.push(written)
    }
    return v[0]
  }
  return null
}

/** Kong's `get_headers()[name]`: the name in lower case, `_` also matching `-`. */
function headerValues(k: PluginContext, name: string): string[] | undefined {
  const lower = name.toLowerCase()
  const v = k.headerValues(lower)
  if (v.length) return v
  const dashed = lower.replace(/_/g, '-')
  if (dashed !== lower) {
    const d = k.headerValues(dashed)
    if (d.length) return d
  }
  return undefined
}

/** Kong's `get_query()[name]`: a bare `?apikey` (no `=`) is no value. */
function queryValues(k: PluginContext, name: string): string[] | undefined {
  if (!k.query.has(name)) return undefined
  const raw = k.rawQuery
  const out: string[] = []
  for (const part of raw.split('&')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    if (decode(part.slice(0, eq)) === name) out.push(decode(part.slice(eq + 1)))
  }
  return out.length ? out : undefined
}

const decode = (s: string): string => {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '))
  } catch {
    return s
  }
}

/** hide_credentials: the key leaves the query string, the headers and (when read) the body. */
function hide(k: PluginContext, name: string, body: KeyBody | null): void | Promise<void> {
  const lower = name.toLowerCase()
  k.setUpstreamHeader(lower, null)
  if (lower.includes('_')) k.setUpstreamHeader(lower.replace(/_/g, '-'), null)
  if (k.query.has(name)) {
    const q = new URLSearchParams(k.query)
    q.delete(name)
    k.setUpstreamQuery(q)
  }
  if (body) return writeKeyBody(k, body, name)
}
