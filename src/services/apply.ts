/**
 * `kctl apply`: makes the gateway equal to the files: in one transaction on a kctl node,
 * one `POST /config` swap on a DB-less node, entity by entity on any other Kong.
 */
import {resolveAdminUrl} from './admin-target.js'
import {asUserErrors, eventName, incompleteApply, maskingErrors} from '../declarative/user-errors.js'
import {commitEvents} from '../declarative/commit.js'
import {PartialApply} from '../declarative/entity-apply.js'
import {appliedBefore, recordApplied} from '../declarative/applied-gateways.js'
import {massDelete, planSync, type Plan} from '../declarative/plan.js'
import {massDeleteLine} from '../declarative/render.js'
import {silentReporter, type Reporter} from '../kit/output.js'
import {confirmDestructive} from './declarative.js'
import {notOneTransaction, resultOf, type DiffOptions, type SyncResult} from './diff.js'

export interface ApplyOptions extends DiffOptions {
  /** Stop after the diff (same as `kctl diff`). */
  dryRun?: boolean
  /** Skip the confirmation for deletes on the first apply to a gateway. */
  yes?: boolean
  /** Progress (steps) and the warning that an apply is not one transaction. */
  report?: Reporter
}

export async function apply(o: ApplyOptions): Promise<{result: SyncResult; plan: Plan}> {
  return asUserErrors(async () => {
    const url = await resolveAdminUrl(o)
    o.report?.step(`Reading the files and the configuration of ${url}`)
    const plan = await planSync(url, o.files, o.selectTags, o.limits, o.allowEmpty)
    const gw = plan.gateway
    if (o.dryRun || plan.events.length === 0) return {plan, result: resultOf(plan, false, gw)}
    // Only the first apply to a gateway may delete what someone made by hand: ask then.
    if (plan.summary.deleted > 0 && !(await appliedBefore(o.stateRoot, url))) {
      const most = massDelete(plan)
      const del = `elete ${plan.summary.deleted} entit${plan.summary.deleted === 1 ? 'y' : 'ies'} not in the files?`
      await confirmDestructive(`First apply to ${url}: ${most ? `${massDeleteLine(most, false, plan.selectTags)} D${del}` : `d${del}`}`, Boolean(o.yes))
    }
    if (gw.writes === 'entities') (o.report ?? silentReporter).warn(notOneTransaction(gw))
    o.report?.step(`Applying ${plan.events.length} change${plan.events.length === 1 ? '' : 's'} to ${url}${gw.writes === 'entities' ? ', entity by entity' : ' in one transaction'}`)
    try {
      plan.summary = await maskingErrors(plan.secrets, () => commitEvents(gw, plan.events, {current: plan.current, selectTags: plan.selectTags, target: plan.target}))
    } catch (err) {
      if (!(err instanceof PartialApply)) throw err
      if (err.applied.length) await recordApplied(o.stateRoot, url)
      throw incompleteApply(err, (e) => eventName(e, [plan.target.state, plan.current], plan.secrets))
    }
    await recordApplied(o.stateRoot, url)
    return {plan, result: resultOf(plan, true, gw)}
  })
}
