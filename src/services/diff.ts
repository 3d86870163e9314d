/** `kctl diff`: what `apply` would change, nothing written. */
import {resolveAdminUrl, type AdminTarget} from './admin-target.js'
import type {Gateway} from '../declarative/admin-client.js'
import {asUserErrors} from '../declarative/user-errors.js'
import {massDelete, planSync, type MassDelete, type Plan} from '../declarative/plan.js'
import {massDeleteLine} from '../declarative/render.js'
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
  /**
   * Whether the gateway takes the changes in one transaction (a kctl node, or one
   * `/config` swap on a DB-less node); false: entity by entity (Kong), so a failure in
   * the middle leaves the changes before it applied.
   */
  transactional: boolean
  /** Set when more than half of the entities on the gateway (with the select tags) go. */
  mass_delete: MassDelete | null
}

export async function diff(o: DiffOptions): Promise<{result: SyncResult; plan: Plan}> {
  return asUserErrors(async () => {
    const plan = await planSync(await resolveAdminUrl(o), o.files, o.selectTags, o.limits, o.allowEmpty)
    return {plan, result: resultOf(plan, false, plan.gateway)}
  })
}

export const resultOf = (plan: Plan, applied: boolean, gw: Gateway): SyncResult => ({
  changes: changesJson(plan.events, [plan.target.state, plan.current], plan.secrets),
  summary: plan.summary,
  warnings: plan.warnings,
  applied,
  transactional: gw.writes !== 'entities',
  mass_delete: massDelete(plan),
})

/** Said on stderr before writing to a gateway that takes changes entity by entity. */
export const notOneTransaction = (gw: Gateway): string =>
  `The gateway at ${gw.url} has no transactional apply (it is not a kctl node): the changes go entity by entity through its Admin API, in dependency order. This is not one transaction: if one fails, those before it stay applied.`

/** The report's closing line for a mass delete, if any. */
export const massDeleteNotice = (result: SyncResult, selectTags: readonly string[]): string | undefined =>
  result.mass_delete ? massDeleteLine(result.mass_delete, result.applied, selectTags) : undefined
