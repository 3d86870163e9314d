/**
 * Current state vs target state → ordered events. Order comes from the schemas' foreign
 * keys: deletes children first, then creates and updates parents first, so every event
 * can run in sequence inside one transaction.
 */
import {topologicalOrder} from '../runtime/schema/registry.js'
import {unchanged} from '../runtime/declarative/compare.js'
import type {Event, State} from '../runtime/declarative/state.js'

/** `untransformed`: ids of target entities stored as written (`_transform: false`); their events say so. */
export function diffStates(current: State, target: State, untransformed: ReadonlySet<string> = new Set()): Event[] {
  const order = topologicalOrder()
  const deletes: Event[] = []
  const upserts: Event[] = []
  for (const schema of order) {
    const wanted = new Map((target[schema.name] ?? []).map((e) => [e.id, e]))
    const have = new Map((current[schema.name] ?? []).map((e) => [e.id, e]))
    for (const [id, old] of have) if (!wanted.has(id)) deletes.push({op: 'delete', kind: schema.name, entity: old, old})
    for (const [id, entity] of wanted) {
      const old = have.get(id)
      const transform = !untransformed.has(id)
      const raw = transform ? {} : {transform: false as const}
      if (!old) upserts.push({op: 'create', kind: schema.name, entity, ...raw})
      else if (!unchanged(schema, old, entity, transform)) upserts.push({op: 'update', kind: schema.name, entity, old, ...raw})
    }
  }
  const rank = new Map(order.map((s, i) => [s.name, i]))
  deletes.sort((a, b) => rank.get(b.kind)! - rank.get(a.kind)!)
  return [...deletes, ...upserts]
}

/** Everything in `current` removed (reset). */
export const deleteAll = (current: State): Event[] => diffStates(current, {})

