/**
 * The engine's side of the Admin API: reads the current state page by page (works with
 * any Kong-compatible Admin API) and sends a change set to `POST /kctl/sync`, which
 * applies it in one transaction on the node.
 */
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

async function call(base: string, method: string, path: string, body?: unknown): Promise<any> {
  let res: Response
  try {
    res = await fetch(new URL(path, base), {
      method,
      headers: body === undefined ? {} : {'content-type': 'application/json'},
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch (err) {
    const cause = (err as {cause?: {code?: string; message?: string}}).cause
    throw new AdminUnreachable(base, cause?.code ?? cause?.message ?? (err as Error).message)
  }
  const text = await res.text()
  let parsed: any
  try {
    parsed = text ? JSON.parse(text) : undefined
  } catch {
    parsed = undefined
  }
  if (!res.ok) throw new AdminApiError(`${method} ${path}: ${res.status} ${parsed?.message ?? text.slice(0, 200)}`, res.status, parsed)
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
      const page = await call(base, 'GET', `/${schema.name}?${q}`)
      rows.push(...(page?.data ?? []))
      if (!page?.offset) break
      q.set('offset', page.offset)
    }
    state[schema.name] = rows
  }
  return state
}

export interface SyncRequest {
  events: Array<Pick<Event, 'op' | 'kind' | 'entity' | 'old'>>
}

/** Applies events in one transaction on the node; throws AdminApiError with Kong's envelope on failure. */
export async function postSync(base: string, events: readonly Event[]): Promise<Summary> {
  // `old` lets the node refuse the apply when someone changed the gateway since the diff.
  const body: SyncRequest = {events: events.map((e) => ({op: e.op, kind: e.kind, entity: e.op === 'delete' ? {id: e.entity.id} : e.entity, ...(e.old ? {old: e.old} : {})}))}
  const res = await call(base, 'POST', SYNC_PATH, body)
  return {created: res.created, updated: res.updated, deleted: res.deleted}
}
