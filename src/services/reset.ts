/**
 * `kctl reset`: removes every entity (or every entity with the select tags) in one
 * transaction; on a DB-less node, one `POST /config` of what is left (empty without
 * tags); on any other Kong, entity by entity, children first.
 */
import {fetchState} from '../declarative/admin-client.js'
import {resolveGateway, type AdminTarget} from './admin-target.js'
import {asUserErrors, eventName, incompleteApply} from '../declarative/user-errors.js'
import {commitEvents} from '../declarative/commit.js'
import {deleteAll} from '../declarative/diff.js'
import {PartialApply} from '../declarative/entity-apply.js'
import {massDelete} from '../declarative/plan.js'
import {silentReporter, type Reporter} from '../kit/output.js'
import {summarize, type Event, type State} from '../runtime/declarative/state.js'
import {confirmDestructive} from './declarative.js'
import {notOneTransaction, type SyncResult} from './diff.js'
import {changesJson} from './declarative.js'

export interface ResetOptions extends AdminTarget {
  /** Only entities with these tags. */
  selectTags?: string[]
  /** Skip the confirmation. */
  yes?: boolean
  /** Where to say that the reset is not one transaction (stderr). */
  reporter?: Reporter
}

export interface ResetOutcome {
  result: SyncResult
  /** The deletions, in the order they were sent, and the state they were planned on (for the report). */
  events: Event[]
  current: State
}

export async function reset(o: ResetOptions): Promise<ResetOutcome> {
  return asUserErrors(async () => {
    const gw = await resolveGateway(o)
    const current = await fetchState(gw, o.selectTags ?? [])
    const events = deleteAll(current)
    if (events.length) await confirmDestructive(`Delete all ${events.length} entities from the gateway at ${gw.url}?`, Boolean(o.yes))
    if (events.length && gw.writes === 'entities') (o.reporter ?? silentReporter).warn(notOneTransaction(gw))
    let summary = summarize(events)
    try {
      if (events.length) summary = await commitEvents(gw, events, {current, selectTags: o.selectTags ?? []})
    } catch (err) {
      throw err instanceof PartialApply ? incompleteApply(err, (e) => eventName(e, [current], [])) : err
    }
    const result = {changes: changesJson(events, [current]), summary, warnings: [], applied: events.length > 0, transactional: gw.writes !== 'entities', mass_delete: massDelete({current, summary})}
    return {result, events, current}
  })
}
