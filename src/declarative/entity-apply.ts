/**
 * Applying events entity by entity through Kong's standard Admin API, for gateways
 * without `POST /kctl/sync` (Kong itself), as decK does. It is NOT one transaction: a
 * refusal in the middle leaves the changes before it applied; `PartialApply` says which.
 *
 * Order from the schemas' foreign keys (the rule `POST /kctl/sync` applies too):
 *
 *   deletes, children first ──► per kind, parents first: updates, then creates
 *
 *   create, update  PUT    /{collection}/{id}            Kong's upsert: the whole entity
 *                                                        (a certificate's with the SNIs it has)
 *   targets         POST   /upstreams/{u}/targets        (Kong has no /targets)
 *                   PUT    /upstreams/{u}/targets/{id}
 *   delete          DELETE /{collection}/{id}            a 404 is already gone
 */
import {UserError} from '../kit/errors.js'
import {foreignId, getSchema, topologicalOrder} from '../runtime/schema/registry.js'
import type {Event, Summary} from '../runtime/declarative/state.js'
import {AdminApiError, AdminUnreachable, AnswerLost, call, UnexpectedAnswer} from './admin-client.js'

/** The apply stopped at `failed`: `applied` went in, `notApplied` did not; `failed` did not, unless `unknown`. */
export class PartialApply extends Error {
  constructor(
    readonly applied: readonly Event[],
    readonly failed: Event,
    readonly notApplied: readonly Event[],
    readonly reason: Error,
    /** The connection failed after `failed` was sent: it may have gone in. */
    readonly unknown: boolean,
  ) {
    super(`apply stopped at ${failed.op} ${failed.kind} ${failed.entity.id}: ${reason.message}`)
    this.name = 'PartialApply'
  }
}

/** Deletes children first, then kind by kind parents first, updates before creates (a key an update frees can be taken by a create). */
export function entityOrder(events: readonly Event[]): Event[] {
  const order = topologicalOrder()
  const of = (op: Event['op'], kind: string) => events.filter((e) => e.op === op && e.kind === kind)
  return [...[...order].reverse().flatMap((s) => of('delete', s.name)), ...order.flatMap((s) => [...of('update', s.name), ...of('create', s.name)])]
}

/**
 * @throws UserError before writing anything when an event cannot go through the
 *   standard Admin API; PartialApply when a write fails
 */
export async function applyEntities(base: string, events: readonly Event[]): Promise<Summary> {
  const asWritten = events.filter((e) => e.transform === false && e.op !== 'delete' && getSchema(e.kind)?.onWrite)
  if (asWritten.length) {
    const kinds = [...new Set(asWritten.map((e) => getSchema(e.kind)!.singular))].join(', ')
    throw new UserError('GATEWAY_REJECTED', `The gateway at ${base} takes changes entity by entity, and its Admin API transforms secrets on every write: ${kinds} entities from a \`_transform: false\` file would be transformed twice.`, {
      hint: 'Nothing was changed. Give those secrets in clear text (a file without `_transform: false`), or apply to a kctl node.',
    })
  }
  const ordered = entityOrder(events)
  const summary: Summary = {created: 0, updated: 0, deleted: 0}
  for (const [i, ev] of ordered.entries()) {
    try {
      await write(base, ev)
    } catch (err) {
      if (!(err instanceof Error)) throw err
      const unknown = err instanceof AnswerLost || err instanceof UnexpectedAnswer
      if (!unknown && !(err instanceof AdminApiError) && !(err instanceof AdminUnreachable)) throw err
      throw new PartialApply(ordered.slice(0, i), ev, ordered.slice(i + 1), err, unknown)
    }
    summary[ev.op === 'create' ? 'created' : ev.op === 'update' ? 'updated' : 'deleted']++
  }
  return summary
}

async function write(base: string, ev: Event): Promise<void> {
  const schema = getSchema(ev.kind)!
  const collection = `/${schema.admin_api_name ?? schema.name}`
  const id = ev.entity.id as string
  const {id: _id, created_at: _c, updated_at: _u, ...fields} = ev.entity
  if (ev.kind === 'targets') return writeTarget(base, ev, fields)
  if (ev.op === 'delete') return remove(base, `${collection}/${id}`)
  // Kong's PUT /certificates/{id} without `snis` removes the certificate's SNIs; an update
  // keeps the ones it has (those the target drops were deleted before, as children)
  if (ev.kind === 'certificates' && ev.op === 'update') {
    const now = (await call(base, 'GET', `${collection}/${id}`).catch(() => null)) as {snis?: unknown} | null
    if (Array.isArray(now?.snis)) fields.snis = now.snis
  }
  expectEntity(base, 'PUT', `${collection}/${id}`, id, await call(base, 'PUT', `${collection}/${id}`, fields))
}

/** Kong 3 serves targets only under their upstream, and its PUT there does not create. */
async function writeTarget(base: string, ev: Event, fields: Record<string, unknown>): Promise<void> {
  const id = ev.entity.id as string
  const upstream = (e: Record<string, unknown> | undefined) => foreignId(e?.upstream)
  const under = (u: string | undefined) => `/upstreams/${u}/targets`
  if (ev.op === 'delete') return remove(base, `${under(upstream(ev.old ?? ev.entity))}/${id}`)
  if (ev.op === 'update' && upstream(ev.old) === upstream(ev.entity)) {
    expectEntity(base, 'PUT', `${under(upstream(ev.entity))}/${id}`, id, await call(base, 'PUT', `${under(upstream(ev.entity))}/${id}`, fields))
    return
  }
  // Moved to another upstream: gone from the old one, created under the new one.
  if (ev.op === 'update') await remove(base, `${under(upstream(ev.old))}/${id}`)
  expectEntity(base, 'POST', under(upstream(ev.entity)), id, await call(base, 'POST', under(upstream(ev.entity)), {id, ...fields}))
}

async function remove(base: string, path: string): Promise<void> {
  try {
    await call(base, 'DELETE', path)
  } catch (err) {
    if (!(err instanceof AdminApiError && err.status === 404)) throw err
  }
}

/** A write's answer is the entity written. @throws UnexpectedAnswer */
function expectEntity(base: string, method: string, path: string, id: string, answer: unknown): void {
  if (answer && typeof answer === 'object' && 'id' in answer && answer.id === id) return
  throw new UnexpectedAnswer(base, method, path, `the entity written (id ${id})`, JSON.stringify(answer)?.slice(0, 80) ?? 'nothing')
}
