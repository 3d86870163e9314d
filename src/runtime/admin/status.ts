/**
 * `GET /status` and `GET /status/ready` on the Admin API, the same answers as the status
 * listener gives (`../listeners/status-api.ts`), for every kind of node that has an Admin API.
 */
import {json, METHOD_NOT_ALLOWED, type Reply} from './reply.js'

export interface StatusSource {
  status(): Promise<Record<string, unknown>>
  /** null when ready, else the reason for a 503. */
  ready(): Promise<string | null>
}

/** The reply for `/status[/ready]`, or null when `segments` is another path. */
export async function statusEndpoint(method: string, segments: string[], deps: StatusSource): Promise<Reply | null> {
  if (segments[0] !== 'status' || segments.length > 2 || (segments.length === 2 && segments[1] !== 'ready')) return null
  if (method !== 'GET' && method !== 'HEAD') return METHOD_NOT_ALLOWED
  if (segments.length === 1) return json(200, await deps.status())
  const reason = await deps.ready()
  return reason ? json(503, {message: reason}) : json(200, {message: 'ready'})
}
