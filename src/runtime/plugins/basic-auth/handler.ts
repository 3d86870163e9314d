/**
 * basic-auth: `Authorization: Basic base64(user:pass)` checked against the consumer's
 * hashed credentials, or the `anonymous` consumer as a fallback.
 */
import {GATEWAY_VERSION} from '../../version.js'
import type {EntitySet} from '../../proxy/snapshot.js'
import {consumerHeaders, findConsumer} from '../fields.js'
import type {PluginHandler} from '../types.js'
import {hashPassword} from './credentials.js'

interface UserIndex {
  users: Map<string, {credential: any; consumer: any}>
  consumers: readonly any[]
}

export const handler: PluginHandler<any, UserIndex> = {
  name: 'basic-auth',
  version: GATEWAY_VERSION,
  priority: 1100,
  prepare(e: EntitySet): UserIndex {
    const byId = new Map((e.consumers ?? []).map((c) => [c.id, c]))
    const users = new Map<string, {credential: any; consumer: any}>()
    for (const c of e.basicauth_credentials ?? []) {
      const consumer = byId.get(c.consumer?.id)
      if (consumer) users.set(c.username, {credential: c, consumer})
    }
    return {users, consumers: e.consumers ?? []}
  },
  access(k, conf, index) {
    if (conf.anonymous && k.credential) return
    const header = k.header('authorization') ?? k.header('proxy-authorization')
    const given = header ? parseBasic(header) : null
    const found = given ? index.users.get(given.user) : undefined
    if (found && hashPassword(given!.pass, found.consumer.id) === found.credential.password) {
      if (conf.hide_credentials) k.setUpstreamHeader('authorization', null)
      for (const [h, v] of Object.entries(consumerHeaders(found.consumer, found.credential))) k.setUpstreamHeader(h, v)
      return k.authenticate(found.consumer, found.credential)
    }
    if (conf.anonymous) {
      const anon = findConsumer(index.consumers, conf.anonymous)
      if (!anon) throw new Error(`anonymous consumer ${conf.anonymous} is configured but doesn't exist`)
      for (const [h, v] of Object.entries(consumerHeaders(anon, null))) k.setUpstreamHeader(h, v)
      return k.authenticate(anon, null)
    }
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
