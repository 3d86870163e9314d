/** `kctl diff`: what `apply` would change, nothing written. */
import {resolveGateway, type AdminTarget} from '../config/admin-url.js'
import type {Gateway} from '../config/admin-client.js'
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
  /**
   * Whether the gateway takes the changes in one transaction (a kctl node, or one
   * `/config` swap on a DB-less node); false: entity by entity (Kong), so a failure in
   * the middle leaves the changes before it applied.
   */
  transactional: boolean
}

export async function diff(o: DiffOptions): Promise<{result: SyncResult; plan: Plan}> {
  return asUserErrors(async () => {
    const gw = await resolveGateway(o)
    const plan = await planSync(gw, o.files, o.selectTags, o.limits)
    return {plan, result: resultOf(plan, false, gw)}
  })
}

export const resultOf = (plan: Plan, applied: boolean, gw: Gateway): SyncResult => ({
  changes: changesJson(plan.events, [plan.target.state, plan.current], plan.secrets),
  summary: plan.summary,
  warnings: plan.warnings,
  applied,
  transactional: gw.writes !== 'entities',
})

/** Said on stderr before writing to a gateway that takes changes entity by entity. */
export const notOneTransaction = (gw: Gateway): string =>
  `The gateway at ${gw.url} has no transactional apply (it is not a kctl node): the changes go entity by entity through its Admin API, in dependency order. This is not one transaction: if one fails, those before it stay applied.`
