/**
 * Hash indexes over a list of entities of one kind, so that resolving references and
 * matching file entries to current entities stay O(1) per entry: at 10,000 services a
 * linear scan per entry was the largest cost of a re-apply (O(n²)).
 */
import type {EntitySchema} from '../schema/field.js'
import type {EntityRecord} from '../schema/registry.js'
import {canonical} from './compare.js'
import {keyValue, naturalKeys} from './keys.js'

/** Entities of one kind by id, by plain field value, and by natural key. */
export class KindIndex {
  private readonly ids = new Set<string>()
  private readonly byField = new Map<string, Map<unknown, string>>()
  private readonly byKey: Array<Map<string, string[]>>
  private readonly byContent = new Map<string, string[]>()
  private readonly keys: string[][]
  private readonly claimed = new Set<string>()

  constructor(
    private readonly schema: EntitySchema,
    private readonly fields: readonly string[] = [],
  ) {
    this.keys = naturalKeys(schema)
    this.byKey = this.keys.map(() => new Map())
  }

  add(e: EntityRecord): void {
    if (typeof e.id === 'string') this.ids.add(e.id)
    for (const f of this.fields) {
      const m = this.byField.get(f) ?? this.byField.set(f, new Map()).get(f)!
      // The first entity with a value wins, as a linear find() did.
      if (e[f] !== undefined && !m.has(e[f])) m.set(e[f], e.id)
    }
    this.keys.forEach((key, i) => push(this.byKey[i], keyValue(this.schema, key, e), e.id))
    if (!this.keys.length) push(this.byContent, contentKey(this.schema, e), e.id)
  }

  has(id: string): boolean {
    return this.ids.has(id)
  }

  /** The id of the first entity whose `field` equals `value`. */
  byValue(field: string, value: unknown): string | undefined {
    return this.byField.get(field)?.get(value)
  }

  /**
   * An unclaimed entity with the same natural key (keys in schema order), else, for kinds
   * without keys (certificates), one with the same content; the match is then claimed.
   */
  claimMatch(entity: Record<string, unknown>): string | undefined {
    const unclaimed = (ids: string[] | undefined) => ids?.find((id) => !this.claimed.has(id))
    let hit = this.keys.length ? undefined : unclaimed(this.byContent.get(contentKey(this.schema, entity)))
    this.keys.forEach((key, i) => {
      const v = keyValue(this.schema, key, entity)
      hit ??= v === undefined ? undefined : unclaimed(this.byKey[i].get(v))
    })
    if (hit) this.claimed.add(hit)
    return hit
  }
}

function push(m: Map<string, string[]>, k: string | undefined, id: string): void {
  if (k === undefined) return
  const list = m.get(k)
  if (list) list.push(id)
  else m.set(k, [id])
}

/** Equal content keys ⇔ sameEntity() apart from the id. */
function contentKey(schema: EntitySchema, e: Record<string, unknown>): string {
  const c = canonical(schema, e)
  delete c.id
  return JSON.stringify(c)
}
