/**
 * The engine's side of the Admin API: reads the current state page by page (works with
 * any Kong-compatible Admin API) and sends a change set to `POST /kctl/sync`, which
 * applies it in one transaction on the node.
 */
import {gzipSync} from 'node:zlib'
import {ENTITIES} from '../runtime/schema/registry.js'
import type {Event, State, Summary} from '../runtime/declarative/state.js'

/** The gateway answered with an error (Kong envelope in `body`). */
export class AdminApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body?: Record<string, any>,
  ) {
    super(message)
    this.name = 'AdminApiError'
  }
}

/** The Admin API could not be reached at all. */
export class AdminUnreachable extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`can't reach the Admin API at ${url} (${reason})`)
    this.name = 'AdminUnreachable'
  }
}

export const SYNC_PATH = '/kctl/sync'

/** Bodies past this size go gzipped: a whole configuration compresses about 10×. */
const GZIP_FROM = 64 * 1024

/** One Admin API request; the parsed JSON answer. @throws AdminApiError, AdminUnreachable */
export async function call(base: string, method: string, path: string, body?: unknown, gzip = false, retried = false): Promise<any> {
  let res: Response
  const text = body === undefined ? undefined : JSON.stringify(body)
  const zipped = gzip && text !== undefined && text.length > GZIP_FROM
  try {
    res = await fetch(new URL(path, base), {
      method,
      headers: text === undefined ? {} : {'content-type': 'application/json', ...(zipped ? {'content-encoding': 'gzip'} : {})},
      body: zipped ? new Uint8Array(gzipSync(text, {level: 1})) : text,
    })
  } catch (err) {
    const cause = (err as {cause?: {code?: string; message?: string}}).cause
    // A pooled keep-alive socket the node closed while this process was busy (the
    // node's idle timeout is 5 s) resets on reuse; a GET is safe to send again once.
    if (method === 'GET' && !retried && (cause?.code === 'ECONNRESET' || cause?.code === 'UND_ERR_SOCKET')) return call(base, method, path, body, gzip, true)
    throw new AdminUnreachable(base, cause?.code ?? cause?.message ?? (err as Error).message)
  }
  const answer = await res.text()
  let parsed: any
  try {
    parsed = answer ? JSON.parse(answer) : undefined
  } catch {
    parsed = undefined
  }
  if (!res.ok) throw new AdminApiError(`${method} ${path}: ${res.status} ${parsed?.message ?? answer.slice(0, 200)}`, res.status, parsed)
  return parsed
}

/** Every entity of every kind; with tags, only entities carrying all of them. */
export async function fetchState(base: string, tags: readonly string[] = []): Promise<State> {
  const state: State = {}
  for (const schema of ENTITIES) {
    const rows: Array<Record<string, any>> = []
    const q = new URLSearchParams({size: '1000'})
    if (tags.length) q.set('tags', tags.join(','))
    for (;;) {
      // Kong serves plugin credentials at their admin_api_name (/key-auths), not the table name.
      const page = await call(base, 'GET', `/${schema.admin_api_name ?? schema.name}?${q}`)
      rows.push(...(page?.data ?? []))
      if (!page?.offset) break
      q.set('offset', page.offset)
    }
    state[schema.name] = rows
  }
  return state
}

export interface SyncRequest {
  /** `transform: false`: store the entity's secrets as they are (from a `_transform: false` file). */
  events: Array<Pick<Event, 'op' | 'kind' | 'entity' | 'old' | 'transform'>>
}

/** Applies events in one transaction on the node; throws AdminApiError with Kong's envelope on failure. */
export async function postSync(base: string, events: readonly Event[]): Promise<Summary> {
  // `old` lets the node refuse the apply when someone changed the gateway since the diff.
  const body: SyncRequest = {
    events: events.map((e) => ({op: e.op, kind: e.kind, entity: e.op === 'delete' ? {id: e.entity.id} : e.entity, ...(e.old ? {old: e.old} : {}), ...(e.transform === false ? {transform: false as const} : {})})),
  }
  const res = await call(base, 'POST', SYNC_PATH, body, true)
  return {created: res.created, updated: res.updated, deleted: res.deleted}
}
