import type {EntityRecord} from '../schema/registry.js'

/** A gateway's configuration as data: entity kind (`services`) → entities, ids set. */
export type State = Record<string, EntityRecord[]>

export type Op = 'create' | 'update' | 'delete'

/** One change; `old` is the current entity for updates and deletes. */
export interface Event {
  op: Op
  kind: string
  entity: EntityRecord
  old?: EntityRecord
  /** false: the entity came from a `_transform: false` file; its secrets are written as they are. */
  transform?: false
}

export interface Summary {
  created: number
  updated: number
  deleted: number
}

export function summarize(events: readonly Event[]): Summary {
  const count = (op: Op) => events.filter((e) => e.op === op).length
  return {created: count('create'), updated: count('update'), deleted: count('delete')}
}

export const summaryLine = (s: Summary): string => `Created: ${s.created}  Updated: ${s.updated}  Deleted: ${s.deleted}`
