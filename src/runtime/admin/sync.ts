/**
 * `POST /kctl/sync`: kctl's transactional apply. Body `{events: [{op, kind, entity}]}`;
 * every entity is validated first (all errors reported at once, Kong's code 14 envelope),
 * then everything runs in one transaction with one config notification. Answers
 * `{created, updated, deleted}`. Updates and deletes may carry `old`, the entity as the
 * client saw it: a row that differs now fails the whole apply with a 409 (code 15).
 * Creates and updates may carry `transform: false` (from a `_transform: false` file):
 * the entity's secrets are already transformed and are stored as sent.
 */
import type pg from 'pg'
import {applyEvents, type SyncEvent} from '../db/sync.js'
import {ErrorCode, GatewayError} from '../db/errors.js'
import {getSchema, type EntityRecord} from '../schema/registry.js'
import {flattenErrors, isUuid, SchemaViolation, validateEntity, type FieldErrors, type ValidateOptions} from '../schema/validate.js'
import {checkEntityLimit} from './body.js'
import {json, METHOD_NOT_ALLOWED, type Reply} from './reply.js'

/** Kong's declarative error: code 14 with `fields` per kind and `flattened_errors`. */
export class DeclarativeError extends GatewayError {
  constructor(
    fields: Record<string, unknown>,
    readonly flattened: Array<Record<string, unknown>>,
  ) {
    super(ErrorCode.DECLARATIVE_CONFIG, `declarative config is invalid: ${flattened.length} entit${flattened.length === 1 ? 'y' : 'ies'} with errors`, fields)
  }

  override toJSON(): Record<string, unknown> {
    return {...super.toJSON(), flattened_errors: this.flattened}
  }
}

export interface SyncDeps {
  pool: pg.Pool
  onChange(): Promise<void>
  /** Plugin config checks, the Admin API's own (a control plane refuses what its DPs cannot run). */
  checkJson: NonNullable<ValidateOptions['checkJson']>
  /** `kctl_max_config_entities`: more events get a 413 before any is validated. */
  maxEvents?: number
}

export async function handleSync(method: string, body: () => Promise<{body: Record<string, unknown>}>, deps: SyncDeps): Promise<Reply> {
  if (method !== 'POST') return METHOD_NOT_ALLOWED
  const {body: input} = await body()
  if (Array.isArray(input.events)) checkEntityLimit(input.events.length, deps.maxEvents)
  const events = validateEvents(input.events, deps.checkJson)
  const summary = await applyEvents(deps.pool, events)
  if (events.length) await deps.onChange()
  return json(200, summary)
}

/** @throws DeclarativeError listing every invalid event. */
function validateEvents(raw: unknown, checkJson: SyncDeps['checkJson']): SyncEvent[] {
  if (!Array.isArray(raw)) throw new DeclarativeError({events: 'expected an array'}, [])
  const fields: Record<string, Record<string, FieldErrors | string>> = {}
  const flattened: Array<Record<string, unknown>> = []
  const fail = (kind: string, i: number, entity: {id?: unknown; name?: unknown; username?: unknown} | undefined, errs: FieldErrors | string) => {
    ;(fields[kind] ??= {})[String(i)] = errs
    const list = typeof errs === 'string' ? [['', errs]] : flattenErrors(errs)
    flattened.push({entity_type: kind, entity_id: entity?.id ?? null, entity_name: entity?.name ?? entity?.username ?? null, errors: list.map(([field, message]) => ({field, message, type: 'field'}))})
  }
  const out = raw.map((item: unknown, i: number): SyncEvent => {
    // not validated yet: every field may be anything
    const ev = (item ?? {}) as {op?: unknown; kind?: unknown; entity?: Record<string, unknown>; old?: unknown; transform?: unknown}
    const schema = typeof ev.kind === 'string' ? getSchema(ev.kind) : undefined
    if (!schema || !(ev.op === 'create' || ev.op === 'update' || ev.op === 'delete') || !ev.entity || !isUuid(ev.entity.id)) {
      fail(String(ev?.kind ?? 'unknown'), i, ev?.entity, 'expected {op: create|update|delete, kind: <entity>, entity: {id: <uuid>, …}}')
      return item as SyncEvent
    }
    const old = ev.op !== 'create' && ev.old && typeof ev.old === 'object' ? {old: ev.old as Record<string, unknown>} : {}
    if (ev.op === 'delete') return {op: 'delete', kind: schema.name, entity: {id: ev.entity.id}, ...old}
    const input = {...ev.entity}
    delete input.created_at
    delete input.updated_at
    try {
      const raw = ev.transform === false ? {transform: false as const} : {}
      return {op: ev.op, kind: schema.name, entity: validateEntity(schema, input, {defaults: true, checkJson}) as EntityRecord, ...old, ...raw}
    } catch (err) {
      if (!(err instanceof SchemaViolation)) throw err
      fail(schema.name, i, ev.entity, err.fields)
      return item as SyncEvent
    }
  })
  if (flattened.length) throw new DeclarativeError(fields, flattened)
  return out
}
