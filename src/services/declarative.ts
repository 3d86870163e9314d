/**
 * What the declarative commands share: the JSON shape of a change (a contract pinned by
 * tests) and the confirmation rule for destructive runs.
 */
import {UserError} from '../kit/errors.js'
import {canPrompt, confirm, promptUnavailable} from '../kit/prompt.js'
import {entityLabel, mask, maskValue} from '../declarative/render.js'
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

/** The changes as data; values from the environment (`secrets`) are masked as in the text. */
export function changesJson(events: readonly Event[], states: readonly State[], secrets: readonly string[] = []): ChangeJson[] {
  return events.map((e) => ({
    op: e.op,
    kind: e.kind,
    id: e.entity.id,
    name: mask(entityLabel(e.kind, e.entity, states), secrets),
    ...(e.op === 'update' && e.old
      ? {fields: changedFields(getSchema(e.kind)!, e.old, e.entity, e.transform !== false).map((c) => ({field: c.field, old: maskValue(c.old, secrets), new: maskValue(c.new, secrets)}))}
      : {}),
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
