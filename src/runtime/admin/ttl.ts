/**
 * Entities with a `ttl` (key-auth credentials) as Kong's Admin API shows them: the seconds
 * they have left (Kong's `FLOOR(expiry - now)`), counting down; `null` without one. They
 * are stored with `ttl` in seconds from `created_at`, which the proxy and the
 * configuration exports keep reading; an expired one is not shown at all.
 */
import type {Reply} from './reply.js'

type Row = Record<string, unknown>

const expiryOf = (e: Row): number | null => (typeof e.ttl === 'number' && e.ttl > 0 && typeof e.created_at === 'number' ? e.created_at + e.ttl : null)

/** Whether `e` is still there: no ttl, or one that has not run out. */
export function isLive(e: Row, now = Date.now() / 1000): boolean {
  const expiry = expiryOf(e)
  return expiry === null || expiry > now
}

/** The reply with every entity's (`body` or `body.data[]`) `ttl` turned into the seconds left. */
export function remainingTtl(reply: Reply): Reply {
  const body = reply.body as {data?: unknown} | undefined
  if (!body || typeof body !== 'object') return reply
  const now = Date.now() / 1000
  const left = (e: unknown) => {
    const x = e as Row | null
    if (!x || typeof x !== 'object' || !('ttl' in x) || typeof x.created_at !== 'number') return e
    const expiry = expiryOf(x)
    return {...x, ttl: expiry === null ? null : Math.max(0, Math.floor(expiry - now))}
  }
  return {...reply, body: Array.isArray(body.data) ? {...body, data: body.data.map(left)} : left(body)}
}
