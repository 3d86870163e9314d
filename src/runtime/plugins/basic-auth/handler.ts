/**
 * basic-auth: `Authorization: Basic base64(user:pass)` checked against the consumer's
 * hashed credentials, or the `anonymous` consumer as a fallback.
 */
import {acceptAnonymous, acceptCredential, GATEWAY_VERSION, indexCredentials, type CredentialIndex, type PluginEntities, type PluginHandler, type ConfigOf} from '../../pdk/index.js'
import {hashPassword} from './credentials.js'
import {schema} from './schema.js'

type Config = ConfigOf<typeof schema>

export const handler: PluginHandler<Config, CredentialIndex> = {
  name: 'basic-auth',
  version: GATEWAY_VERSION,
  priority: 1100,
  prepare: (e: PluginEntities) => indexCredentials(e.consumers, e.basicauth_credentials, 'username'),
  access(k, conf, index) {
    if (conf.anonymous && k.credential) return
    const www = {'www-authenticate': `Basic realm="${conf.realm}"`}
    // Kong's order: Proxy-Authorization first, then Authorization; every failure is "Unauthorized"
    let found: ReturnType<typeof lookup> = null
    for (const name of ['proxy-authorization', 'authorization']) {
      const header = k.header(name)
      if (header === undefined) continue
      if (conf.hide_credentials) k.setUpstreamHeader(name, null)
      found = lookup(index, parseBasic(header))
      if (found) break
    }
    if (found?.ok) return acceptCredential(k, found.consumer, found.credential)
    if (acceptAnonymous(k, conf.anonymous, index)) return
    k.error(401, 'Unauthorized', www)
  },
}

/** The credential of `given`'s username (null when none) and whether its password matches. */
function lookup(index: CredentialIndex, given: {user: string; pass: string} | null) {
  const found = given ? index.byKey.get(given.user) : undefined
  return found ? {...found, ok: hashPassword(given!.pass, found.consumer.id) === found.credential.password} : null
}

function parseBasic(header: string): {user: string; pass: string} | null {
  const m = /^\s*[Bb]asic\s*(.+)/.exec(header)
  if (!m) return null
  const decoded = Buffer.from(m[1], 'base64').toString('utf8')
  const i = decoded.indexOf(':')
  // Kong's `([^:]+):(.*)`: a username of at least one character
  return i < 1 ? null : {user: decoded.slice(0, i), pass: decoded.slice(i + 1)}
}
