/**
 * DB-less nodes (`database = off`) have no `/kctl/sync`: their entity endpoints are
 * read-only and the only write is `POST /config`, which replaces the whole
 * configuration in one swap. So the engine diffs as usual, then posts the full state
 * the events lead to (commit.ts chooses this from `GET /`):
 *
 *   current (all of it) + events → POST /config?flatten_errors=1   (one swap)
 *
 * Entities outside `--select-tag` are posted back unchanged, so they survive.
 * The body is an export (`_transform: false`, as Kong exports): the node stores every
 * secret as sent. So the engine applies the on-write transformation itself (basic-auth
 * hashes), except to entities from `_transform: false` files, already transformed.
 */
import {exportConfig} from '../runtime/clustering/export.js'
import {asStored} from '../runtime/declarative/compare.js'
import {ConfigInvalid, type ConfigProblem} from '../runtime/declarative/errors.js'
import type {Target} from '../runtime/declarative/resolve.js'
import type {Event, State} from '../runtime/declarative/state.js'
import {ENTITIES, getSchema} from '../runtime/schema/registry.js'
import {AdminApiError, call, UnexpectedAnswer} from './admin-client.js'

/** `all` with the events applied; kinds keep their order, created entities go last. */
export function stateAfter(all: State, events: readonly Event[]): State {
  const out: State = {}
  for (const [kind, rows] of Object.entries(all)) out[kind] = [...rows]
  for (const ev of events) {
    const rows = (out[ev.kind] ??= [])
    const i = rows.findIndex((r) => r.id === ev.entity.id)
    if (ev.op === 'delete') {
      if (i >= 0) rows.splice(i, 1)
    } else if (i >= 0) rows[i] = ev.entity
    else rows.push(ev.entity)
  }
  return out
}

/** The `/config` body for `state`, reached from `before` by `events` (see the top of this file). */
export function configBody(state: State, events: readonly Event[], before: State): Record<string, unknown> {
  const asWritten = new Set(events.filter((e) => e.transform === false).map((e) => e.entity.id))
  const out: State = {}
  for (const [kind, rows] of Object.entries(state)) {
    const schema = getSchema(kind)
    const old = new Map((before[kind] ?? []).map((r) => [r.id, r]))
    // A value equal to the stored one (an entity the events leave alone) is kept by the transformation itself.
    out[kind] = schema?.onWrite ? rows.map((r) => (asWritten.has(r.id) ? r : asStored(schema, r, old.get(r.id) ?? null))) : rows
  }
  return {...exportConfig(out), _transform: false}
}

/** @throws ConfigInvalid with the node's flattened errors, named by file and path where known; UnexpectedAnswer */
export async function postConfig(base: string, body: Record<string, unknown>, target?: Target): Promise<void> {
  try {
    // Not gzipped: Kong's /config does not accept a compressed body.
    const loaded = await call(base, 'POST', '/config?flatten_errors=1', body)
    // Kong answers the loaded entities by kind.
    if (typeof loaded !== 'object' || loaded === null || Array.isArray(loaded)) {
      throw new UnexpectedAnswer(base, 'POST', '/config?flatten_errors=1', 'the loaded entities by kind', JSON.stringify(loaded)?.slice(0, 80) ?? 'nothing')
    }
  } catch (err) {
    if (err instanceof AdminApiError && err.body?.code === 14) throw new ConfigInvalid(nodeProblems(err.body, target))
    throw err
  }
}

/** Kong's code 14 envelope → problems, each at the entity's place in the files when it came from them. */
export function nodeProblems(body: Record<string, unknown>, target?: Target): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  for (const item of records(body.flattened_errors)) {
    const id = text(item.entity_id)
    const entry = id ? target?.entries.get(id) : undefined
    const kind = ENTITIES.find((s) => s.singular === item.entity_type)?.name ?? text(item.entity_type)
    const label = text(item.entity_name) ?? id ?? '?'
    const origin = entry?.origin ?? {file: 'gateway', path: `${kind}[${label}]`}
    for (const e of records(item.errors)) problems.push({origin, ...(e.field ? {field: String(e.field)} : {}), message: String(e.message)})
  }
  // What Kong could not tie to an entity stays in `fields`.
  if (!problems.length || (body.fields && Object.keys(body.fields).length)) problems.push({message: text(body.message) ?? 'invalid declarative configuration'})
  return problems
}

/** The objects in `v` when it is a list (an answer's lists are not validated before this). */
const records = (v: unknown): Array<Record<string, unknown>> => (Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null) : [])
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
