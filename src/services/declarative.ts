/**
 * What the declarative commands share: the JSON shape of a change (a contract pinned by
 * tests) and the confirmation rule for destructive runs.
 */
import {UserError} from '../kit/errors.js'
import {canPrompt, confirm, promptUnavailable} from '../kit/prompt.js'
import {entityLabel} from '../config/render.js'
import {changedFields} from '../runtime/declarative/compare.js'
import {getSchema} from '../runtime/schema/registry.js'
import type {Event, State} from '../runtime/declarative/state.js'

export interface ChangeJson {
  op: Event['op']
  kind: string
  id: string
  name: string
  /** Updates: the fields that change. */
  fields?: Array<{field: string; old: unknown; new: unknown}>
}

export function changesJson(events: readonly Event[], states: readonly State[]): ChangeJson[] {
  return events.map((e) => ({
    op: e.op,
    kind: e.kind,
    id: e.entity.id,
    name: entityLabel(e.kind, e.entity, states),
    ...(e.op === 'update' && e.old ? {fields: changedFields(getSchema(e.kind)!, e.old, e.entity)} : {}),
  }))
}

/**
 * Destructive runs need consent: `--yes`, or a yes on a terminal. Without a terminal
 * and without `--yes` this refuses, naming the flag.
 */
export async function confirmDestructive(question: string, yes: boolean): Promise<void> {
  if (yes) return
  if (!canPrompt()) throw promptUnavailable(question, '--yes')
  if (!(await confirm(question))) throw new UserError('ABORTED', 'Nothing was changed.')
}
