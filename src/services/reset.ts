/**
 * `kctl reset`: removes every entity (or every entity with the select tags) in one
 * transaction; on a DB-less node, one `POST /config` of what is left (empty without tags).
 */
import {fetchState} from '../config/admin-client.js'
import {resolveAdminUrl, type AdminTarget} from '../config/admin-url.js'
import {asUserErrors} from '../config/cli-errors.js'
import {commitEvents} from '../config/dbless.js'
import {deleteAll} from '../config/diff.js'
import {massDelete} from '../config/plan.js'
import {summarize} from '../runtime/declarative/state.js'
import {confirmDestructive} from './declarative.js'
import type {SyncResult} from './diff.js'
import {changesJson} from './declarative.js'

export interface ResetOptions extends AdminTarget {
  /** Only entities with these tags. */
  selectTags?: string[]
  /** Skip the confirmation. */
  yes?: boolean
}

export async function reset(o: ResetOptions): Promise<SyncResult> {
  return asUserErrors(async () => {
    const url = await resolveAdminUrl(o)
    const current = await fetchState(url, o.selectTags ?? [])
    const events = deleteAll(current)
    if (events.length) await confirmDestructive(`Delete all ${events.length} entities from the gateway at ${url}?`, Boolean(o.yes))
    const summary = events.length ? await commitEvents(url, events, {current, selectTags: o.selectTags ?? []}) : summarize(events)
    return {changes: changesJson(events, [current]), summary, warnings: [], applied: events.length > 0, mass_delete: massDelete({current, summary})}
  })
}
