/**
 * What consistent hashing hashes for a request (Kong's get_value_to_hash): `hash_on`,
 * then `hash_fallback` when the first yields nothing, then the empty string (so every
 * such request lands on one peer, as in Kong). Computed once per request, before the
 * first try, and only for consistent-hashing upstreams.
 *
 *   consumer     the authenticated consumer's id, else the credential's (auth plugins
 *                set them in `access`, before the balancer)
 *   ip           the client address
 *   header       the `hash_*_header` request header (repeated ones joined by ", ")
 *   cookie       the `hash_on_cookie` cookie; when absent, a new uuid, also sent back
 *                as Set-Cookie with `hash_on_cookie_path` (ctx.hashCookie)
 *   path         the normalized request path, without the query string
 *   query_arg    the `hash_*_query_arg` argument; repeated ones sorted and joined by
 *                ",", a bare `?name` counts as "true"
 *   uri_capture  the `hash_*_uri_capture` group of the route's regex path
 */
import {randomUUID} from 'node:crypto'
import {normalizePath} from '../router/normalize.js'
import type {ProxyContext} from './context.js'
import {splitUrl} from './phases.js'
import type {Upstream} from './balancer/index.js'

export function hashInput(ctx: ProxyContext, u: Upstream): string {
  return (
    valueOf(ctx, u, u.hash_on, u.hash_on_header, u.hash_on_query_arg, u.hash_on_uri_capture) ??
    valueOf(ctx, u, u.hash_fallback, u.hash_fallback_header, u.hash_fallback_query_arg, u.hash_fallback_uri_capture) ??
    ''
  )
}

function valueOf(ctx: ProxyContext, u: Upstream, on: string | null | undefined, header?: string | null, arg?: string | null, capture?: string | null): string | undefined {
  const {req} = ctx
  switch (on) {
    case 'consumer':
      return ctx.consumer?.id ?? ctx.credential?.id
    case 'ip':
      return ctx.remoteAddress || undefined
    case 'header': {
      const v = header ? req.headers[header.toLowerCase()] : undefined
      return Array.isArray(v) ? v.join(', ') : v
    }
    case 'cookie': {
      const name = u.hash_on_cookie
      if (!name) return undefined
      const found = cookie(req.headers.cookie, name)
      if (found !== undefined) return found
      const id = randomUUID()
      ctx.hashCookie = `${name}=${id}; Path=${u.hash_on_cookie_path ?? '/'}; SameSite=Lax; HttpOnly`
      return id
    }
    case 'path':
      return normalizePath(splitUrl(req.url ?? '/').path)
    case 'query_arg':
      return arg ? queryArg(splitUrl(req.url ?? '/').query, arg) : undefined
    case 'uri_capture': {
      const c = ctx.match?.captures
      if (!c || !capture) return undefined
      return c.named[capture] ?? (/^[1-9]\d*$/.test(capture) ? c.positional[Number(capture) - 1] : undefined)
    }
    default: // none
      return undefined
  }
}

function cookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

function queryArg(query: string, name: string): string | undefined {
  const values: string[] = []
  for (const part of query.replace(/^\?/, '').split('&')) {
    if (!part) continue
    const eq = part.indexOf('=')
    if (decode(eq < 0 ? part : part.slice(0, eq)) !== name) continue
    values.push(eq < 0 ? 'true' : decode(part.slice(eq + 1)))
  }
  if (values.length === 0) return undefined
  return values.length === 1 ? values[0] : values.sort().join(',')
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '))
  } catch {
    return s
  }
}
