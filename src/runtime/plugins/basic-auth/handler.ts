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
    const header = k.header('authorization') ?? k.header('proxy-authorization')
    const given = header ? parseBasic(header) : null
    const found = given ? index.byKey.get(given.user) : undefined
    if (found && hashPassword(given!.pass, found.consumer.id) === found.credential.password) {
      if (conf.hide_credentials) k.setUpstreamHeader('authorization', null)
      return acceptCredential(k, found.consumer, found.credential)
    }
    if (acceptAnonymous(k, conf.anonymous, index)) return
    const www = {'www-authenticate': `Basic realm="${conf.realm}"`}
    k.error(401, header ? 'Invalid authentication credentials' : 'Unauthorized', www)
  },
}

function parseBasic(header: string): {user: string; pass: string} | null {
  const m = /^\s*basic\s+(\S+)\s*$/i.exec(header)
  if (!m) return null
  const decoded = Buffer.from(m[1], 'base64').toString('utf8')
  const i = decoded.indexOf(':')
  return i < 0 ? null : {user: decoded.slice(0, i), pass: decoded.slice(i + 1)}
}
