/** `kctl diff`: what `apply` would change, nothing written. */
import {resolveAdminUrl, type AdminTarget} from '../config/admin-url.js'
import {asUserErrors} from '../config/cli-errors.js'
import {massDelete, planSync, type MassDelete, type Plan} from '../config/plan.js'
import {massDeleteLine} from '../config/render.js'
import type {Summary} from '../runtime/declarative/state.js'
import {changesJson, type ChangeJson} from './declarative.js'

export interface DiffOptions extends AdminTarget {
  /** Files to read (`-` = stdin), merged. */
  files: string[]
  /** Manage only entities with these tags. */
  selectTags?: string[]
  /** Accept files with no entities (a plan to delete everything they manage). */
  allowEmpty?: boolean
}

/** The JSON contract of `diff --json` and `apply --json`. */
export interface SyncResult {
  changes: ChangeJson[]
  summary: Summary
  warnings: string[]
  /** True when the changes were written (apply without --dry-run). */
  applied: boolean
  /** Set when more than half of the entities on the gateway (with the select tags) go. */
  mass_delete: MassDelete | null
}

export async function diff(o: DiffOptions): Promise<{result: SyncResult; plan: Plan}> {
  return asUserErrors(async () => {
    const plan = await planSync(await resolveAdminUrl(o), o.files, o.selectTags, o.allowEmpty)
    return {plan, result: resultOf(plan, false)}
  })
}

export const resultOf = (plan: Plan, applied: boolean): SyncResult => ({
  changes: changesJson(plan.events, [plan.target.state, plan.current], plan.secrets),
  summary: plan.summary,
  warnings: plan.warnings,
  applied,
  mass_delete: massDelete(plan),
})

/** The report's closing line for a mass delete, if any. */
export const massDeleteNotice = (result: SyncResult, selectTags: readonly string[]): string | undefined =>
  result.mass_delete ? massDeleteLine(result.mass_delete, result.applied, selectTags) : undefined
