/**
 * `kctl apply`: makes the gateway equal to the files, in one transaction on the node
 * (one `POST /config` swap on a DB-less node).
 */
import {resolveAdminUrl} from '../config/admin-url.js'
import {asUserErrors, maskingErrors} from '../config/cli-errors.js'
import {commitEvents} from '../config/dbless.js'
import {appliedBefore, recordApplied} from '../config/applied.js'
import {massDelete, planSync, type Plan} from '../config/plan.js'
import {massDeleteLine} from '../config/render.js'
import {confirmDestructive} from './declarative.js'
import {resultOf, type DiffOptions, type SyncResult} from './diff.js'

export interface ApplyOptions extends DiffOptions {
  /** Stop after the diff (same as `kctl diff`). */
  dryRun?: boolean
  /** Skip the confirmation for deletes on the first apply to a gateway. */
  yes?: boolean
}

export async function apply(o: ApplyOptions): Promise<{result: SyncResult; plan: Plan}> {
  return asUserErrors(async () => {
    const url = await resolveAdminUrl(o)
    const plan = await planSync(url, o.files, o.selectTags, o.allowEmpty)
    if (o.dryRun || plan.events.length === 0) return {plan, result: resultOf(plan, false)}
    // Only the first apply to a gateway may delete what someone made by hand: ask then.
    if (plan.summary.deleted > 0 && !(await appliedBefore(o.stateRoot, url))) {
      const most = massDelete(plan)
      const del = `elete ${plan.summary.deleted} entit${plan.summary.deleted === 1 ? 'y' : 'ies'} not in the files?`
      await confirmDestructive(`First apply to ${url}: ${most ? `${massDeleteLine(most, false, plan.selectTags)} D${del}` : `d${del}`}`, Boolean(o.yes))
    }
    plan.summary = await maskingErrors(plan.secrets, () => commitEvents(url, plan.events, {current: plan.current, selectTags: plan.selectTags, target: plan.target}))
    await recordApplied(o.stateRoot, url)
    return {plan, result: resultOf(plan, true)}
  })
}
