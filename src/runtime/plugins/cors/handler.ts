/**
 * cors: answers preflight requests itself (200, unless `preflight_continue`) and adds the
 * Access-Control-* headers to other responses, as Kong's handler does. Origins are
 * compiled once per config (exact ones normalised, regexes anchored at the end).
 */
import {GATEWAY_VERSION, type PluginContext, type PluginHandler, type ConfigOf} from '../../pdk/index.js'
import {METHODS, schema} from './schema.js'

const ALL_METHODS = METHODS.join(',')

type Config = ConfigOf<typeof schema>

type Origin = {regex: RegExp; byHost: boolean} | {domain: string}
const compiled = new WeakMap<object, Origin[]>()
const PLAIN = /^[A-Za-z0-9.:/-]+$/

/** `scheme://host[:port]` without default ports; the host alone when it has no scheme. */
function normalize(origin: string): {domain: string; host: string} {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/:]+)(?::(\d+))?/i.exec(origin)
  if (!m) return {domain: origin, host: origin}
  const [, scheme, host, port] = m
  const dflt = (scheme === 'http' && port === '80') || (scheme === 'https' && port === '443')
  return {domain: `${scheme}://${host}${port && !dflt ? `:${port}` : ''}`, host}
}

function origins(conf: Config): Origin[] {
  let list = compiled.get(conf)
  if (!list) {
    list = (conf.origins as string[]).map((o) => {
      if (PLAIN.test(o)) return {domain: normalize(o).domain}
      const src = (o.startsWith('^') ? o.slice(1) : o) + (o.endsWith('$') ? '' : '$')
      return {regex: new RegExp(`^(?:${src})`), byHost: !o.includes(':')}
    })
    compiled.set(conf, list)
  }
  return list
}

/** Sets Access-Control-Allow-Origin; returns true when it allows every origin. */
function allowOrigin(k: PluginContext, conf: Config, set: (h: string, v: string) => void, origin: string | undefined): boolean {
  const list = conf.origins ?? []
  const n = list.length
  if (n === 0 || (n === 1 && list[0] === '*')) {
    set('access-control-allow-origin', '*')
    return true
  }
  set('vary', 'Origin')
  if (n === 1 && PLAIN.test(list[0])) {
    set('access-control-allow-origin', list[0])
    return false
  }
  if (origin) {
    if (list.includes('*')) {
      set('access-control-allow-origin', '*')
      return true
    }
    const req = normalize(origin)
    for (const o of origins(conf)) {
      const ok = 'regex' in o ? o.regex.test(o.byHost ? req.host : req.domain) : o.domain === req.domain
      if (ok) {
        set('access-control-allow-origin', req.domain)
        return false
      }
    }
  }
  return false
}

function credentials(conf: Config, set: (h: string, v: string) => void, allowAll: boolean, origin: string | undefined): void {
  if (!conf.credentials) return
  if (!allowAll) return set('access-control-allow-credentials', 'true')
  // ACAO cannot be `*` together with credentials: echo the origin instead.
  if (origin) {
    set('vary', 'Origin')
    set('access-control-allow-origin', origin)
    set('access-control-allow-credentials', 'true')
  }
}

export const handler: PluginHandler<Config> = {
  name: 'cors',
  version: GATEWAY_VERSION,
  priority: 2000,
  access(k, conf) {
    const origin = k.header('origin')
    if (k.method !== 'OPTIONS' || !origin || !k.header('access-control-request-method')) return
    k.shared.corsPreflight = true
    if (conf.preflight_continue) return
    const headers: Record<string, string> = {}
    const set = (h: string, v: string) => void (headers[h] = v)
    credentials(conf, set, allowOrigin(k, conf, set, origin), origin)
    const requested = k.header('access-control-request-headers')
    if (conf.headers?.length) set('access-control-allow-headers', conf.headers.join(','))
    else if (requested) set('access-control-allow-headers', requested)
    // no list (null): every method, as Kong; an empty list: none
    set('access-control-allow-methods', conf.methods ? conf.methods.join(',') : ALL_METHODS)
    if (conf.max_age != null) set('access-control-max-age', String(conf.max_age))
    if (conf.private_network && k.header('access-control-request-private-network') === 'true') set('access-control-allow-private-network', 'true')
    k.exit(200, '', headers)
  },
  response(k, conf) {
    if (k.shared.corsPreflight) return
    const origin = k.header('origin')
    if (!origin && !conf.allow_origin_absent) return
    const headers = k.response!.headers
    delete headers['access-control-allow-origin']
    const set = (h: string, v: string) => {
      if (h === 'vary' && headers.vary && !String(headers.vary).toLowerCase().includes('origin')) headers.vary = `${headers.vary}, ${v}`
      else headers[h] = v
    }
    credentials(conf, set, allowOrigin(k, conf, set, origin), origin)
    if (conf.exposed_headers?.length) headers['access-control-expose-headers'] = conf.exposed_headers.join(',')
  },
}
