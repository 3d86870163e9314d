/**
 * The engine's side of the Admin API. Before anything else, `openGateway` asks `GET /`
 * and checks that the answer is a Kong Admin API's; what it reports decides how writes go:
 *
 *   GET / ──► Kong's shape? ── no ──► NotAGateway (nothing read, nothing written)
 *               │ configuration.database = off ──► POST /config: one swap (dbless.ts)
 *               │ kctl.sync (a kctl node)      ──► POST /kctl/sync: one transaction
 *               └ otherwise (Kong)             ──► entity by entity (entity-apply.ts)
 *
 * Every answer is checked for the shape the engine expects; one that is not is an
 * UnexpectedAnswer, never read as empty or as `undefined` counts.
 */
import {gzipSync} from 'node:zlib'
import {ENTITIES, type EntityRecord} from '../runtime/schema/registry.js'
import type {Event, State, Summary} from '../runtime/declarative/state.js'
import {send, type Answer} from './admin-http.js'

export {AdminUnreachable, AnswerLost} from './admin-http.js'

/** The gateway answered with an error (Kong envelope in `body`). */
export class AdminApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body?: Record<string, unknown>,
  ) {
    super(message)
    this.name = 'AdminApiError'
  }
}

/** What an answer looked like, for messages: `200 text/html "<!doctype html>…"`. */
export function describeAnswer(a: Answer): string {
  const start = a.text.replace(/\s+/g, ' ').trim().slice(0, 80)
  return `${a.status} ${a.contentType || 'without a content-type'}${start ? ` ${JSON.stringify(start)}${a.text.length > 80 ? '…' : ''}` : ', empty body'}`
}

/** `GET /` did not answer as a Kong Admin API does. */
export class NotAGateway extends Error {
  constructor(
    readonly url: string,
    readonly found: string,
  ) {
    super(`The server at ${url} does not answer as a Kong Admin API: GET / gave ${found}.`)
    this.name = 'NotAGateway'
  }
}

/** A successful answer without the shape the engine expects (`expected`: what was missing). */
export class UnexpectedAnswer extends Error {
  constructor(
    readonly url: string,
    readonly method: string,
    readonly path: string,
    readonly expected: string,
    readonly found: string,
  ) {
    super(`The Admin API at ${url} answered ${method} ${path} with ${found}, expected ${expected}.`)
    this.name = 'UnexpectedAnswer'
  }
}

export const SYNC_PATH = '/kctl/sync'

/** Bodies past this size go gzipped: a whole configuration compresses about 10×. */
const GZIP_FROM = 64 * 1024

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** One Admin API request and its answer parsed as JSON (undefined when empty). @throws AdminApiError, AdminUnreachable, AnswerLost, UnexpectedAnswer */
export async function call(base: string, method: string, path: string, body?: unknown, gzip = false): Promise<unknown> {
  const text = body === undefined ? undefined : JSON.stringify(body)
  const zipped = gzip && text !== undefined && text.length > GZIP_FROM
  const payload = text === undefined ? undefined : {data: zipped ? new Uint8Array(gzipSync(text, {level: 1})) : text, headers: {'content-type': 'application/json', ...(zipped ? {'content-encoding': 'gzip'} : {})}}
  const answer = await send(base, method, path, payload)
  let parsed: unknown
  let json = answer.text.trim() === ''
  try {
    parsed = json ? undefined : JSON.parse(answer.text)
    json = true
  } catch {
    parsed = undefined
  }
  if (answer.status < 200 || answer.status > 299) {
    throw new AdminApiError(`${method} ${path}: ${answer.status} ${(isObject(parsed) ? parsed.message : undefined) ?? answer.text.slice(0, 200)}`, answer.status, isObject(parsed) ? parsed : undefined)
  }
  if (!json) throw new UnexpectedAnswer(base, method, path, 'JSON', describeAnswer(answer))
  return parsed
}

/** A Kong Admin API that answered `GET /` as one, and how it takes writes. */
export interface Gateway {
  url: string
  /** The Kong version it reports. */
  version: string
  /**
   * `sync`: kctl's node, one transaction (`POST /kctl/sync`); `config`: DB-less, one
   * `POST /config`; `entities`: any other Kong, entity by entity (not one transaction).
   */
  writes: 'sync' | 'config' | 'entities'
  /** A kctl node: serves every kind at its top-level collection (Kong disables `/targets`). */
  kctl: boolean
}

/**
 * Asks `GET /` and checks Kong's shape (`version`, `tagline`, `configuration`,
 * `plugins.available_on_server`). @throws NotAGateway, AdminUnreachable
 */
export async function openGateway(url: string): Promise<Gateway> {
  const answer = await send(url, 'GET', '/')
  let root: unknown
  try {
    root = JSON.parse(answer.text)
  } catch {
    root = undefined
  }
  const missing = answer.status !== 200 || !isObject(root) ? null : kongShapeMissing(root)
  if (missing === null || missing.length) {
    const without = missing?.length ? `, without Kong's ${missing.map((m) => `"${m}"`).join(', ')}` : ''
    throw new NotAGateway(url, describeAnswer(answer) + without)
  }
  // kongShapeMissing found `version` a string and `configuration` an object.
  const r = root as {version: string; configuration: Record<string, unknown>; kctl?: unknown}
  const kctl = isObject(r.kctl)
  const writes = r.configuration.database === 'off' ? 'config' : isObject(r.kctl) && r.kctl.sync === SYNC_PATH ? 'sync' : 'entities'
  return {url, version: r.version, writes, kctl}
}

/** The fields of Kong's `GET /` answer that `root` lacks. */
function kongShapeMissing(root: Record<string, unknown>): string[] {
  const missing: string[] = []
  if (typeof root.version !== 'string') missing.push('version')
  if (typeof root.tagline !== 'string') missing.push('tagline')
  if (!isObject(root.configuration)) missing.push('configuration')
  if (!isObject(root.plugins) || !isObject(root.plugins.available_on_server)) missing.push('plugins.available_on_server')
  return missing
}

const gatewayOf = async (g: Gateway | string): Promise<Gateway> => (typeof g === 'string' ? openGateway(g) : g)

/** Every entity of every kind; with tags, only entities carrying all of them. */
export async function fetchState(target: Gateway | string, tags: readonly string[] = []): Promise<State> {
  const gw = await gatewayOf(target)
  const state: State = {}
  for (const schema of ENTITIES) {
    // Kong serves plugin credentials at their admin_api_name (/key-auths), not the table name,
    // and targets only under their upstream.
    if (schema.name === 'targets' && !gw.kctl) state.targets = await targetsByUpstream(gw.url, tags)
    else state[schema.name] = await readAll(gw.url, `/${schema.admin_api_name ?? schema.name}`, tags)
  }
  return state
}

/** Every page of a collection. @throws UnexpectedAnswer when a page is not `{data: [entities], offset?}` */
async function readAll(base: string, collection: string, tags: readonly string[]): Promise<EntityRecord[]> {
  const rows: EntityRecord[] = []
  const q = new URLSearchParams({size: '1000'})
  if (tags.length) q.set('tags', tags.join(','))
  for (;;) {
    const path = `${collection}?${q}`
    const page = await call(base, 'GET', path)
    if (!isPage(page)) {
      throw new UnexpectedAnswer(base, 'GET', path, 'a page of entities ({"data": [{"id": …}, …], "offset": …})', JSON.stringify(page)?.slice(0, 80) ?? 'nothing')
    }
    rows.push(...page.data)
    if (!page.offset) break
    q.set('offset', page.offset)
  }
  return rows
}

/** Kong's page of a collection: `{data: [entities], offset?}` (offset null or absent on the last). */
function isPage(v: unknown): v is {data: EntityRecord[]; offset?: string | null} {
  if (!isObject(v) || !Array.isArray(v.data)) return false
  return v.data.every((e: unknown) => isObject(e) && typeof e.id === 'string') && (v.offset == null || typeof v.offset === 'string')
}

/** Kong: `/upstreams/{u}/targets` for each upstream, tags filtered here. */
async function targetsByUpstream(base: string, tags: readonly string[]): Promise<EntityRecord[]> {
  const rows: EntityRecord[] = []
  for (const u of await readAll(base, '/upstreams', [])) {
    for (const t of await readAll(base, `/upstreams/${u.id}/targets`, [])) if (tags.every((tag) => Array.isArray(t.tags) && t.tags.includes(tag))) rows.push(t)
  }
  return rows
}

export interface SyncRequest {
  /** `transform: false`: store the entity's secrets as they are (from a `_transform: false` file). */
  events: Array<Pick<Event, 'op' | 'kind' | 'entity' | 'old' | 'transform'>>
}

/**
 * Applies events in one transaction on the node.
 * @throws AdminApiError with Kong's envelope on failure (nothing applied), AnswerLost or
 *   UnexpectedAnswer when the outcome is unknown
 */
export async function postSync(base: string, events: readonly Event[]): Promise<Summary> {
  // `old` lets the node refuse the apply when someone changed the gateway since the diff.
  const body: SyncRequest = {
    events: events.map((e) => ({op: e.op, kind: e.kind, entity: e.op === 'delete' ? {id: e.entity.id} : e.entity, ...(e.old ? {old: e.old} : {}), ...(e.transform === false ? {transform: false as const} : {})})),
  }
  const res = await call(base, 'POST', SYNC_PATH, body, true)
  const counts = (v: unknown): v is Summary => isObject(v) && [v.created, v.updated, v.deleted].every((n) => Number.isInteger(n))
  if (!counts(res)) throw new UnexpectedAnswer(base, 'POST', SYNC_PATH, '{"created": N, "updated": N, "deleted": N}', JSON.stringify(res)?.slice(0, 80) ?? 'nothing')
  return {created: res.created, updated: res.updated, deleted: res.deleted}
}
