/** `kctl diff`: what `apply` would change, nothing written. */
import {resolveAdminUrl, type AdminTarget} from '../config/admin-url.js'
import {asUserErrors} from '../config/cli-errors.js'
import {planSync, type Plan} from '../config/plan.js'
import type {InputLimits} from '../runtime/declarative/limits.js'
import type {Summary} from '../runtime/declarative/state.js'
import {changesJson, type ChangeJson} from './declarative.js'

export interface DiffOptions extends AdminTarget {
  /** Files to read (`-` = stdin), merged. */
  files: string[]
  /** Manage only entities with these tags. */
  selectTags?: string[]
  /** Bounds on the files (defaults: DEFAULT_INPUT_LIMITS). */
  limits?: InputLimits
}

/** The JSON contract of `diff --json` and `apply --json`. */
export interface SyncResult {
  changes: ChangeJson[]
  summary: Summary
  warnings: string[]
  /** True when the changes were written (apply without --dry-run). */
  applied: boolean
}

export async function diff(o: DiffOptions): Promise<{result: SyncResult; plan: Plan}> {
  return asUserErrors(async () => {
    const plan = await planSync(await resolveAdminUrl(o), o.files, o.selectTags, o.limits)
    return {plan, result: resultOf(plan, false)}
  })
}

export const resultOf = (plan: Plan, applied: boolean): SyncResult => ({
  changes: changesJson(plan.events, [plan.target.state, plan.current], plan.secrets),
  summary: plan.summary,
  warnings: plan.warnings,
  applied,
})
