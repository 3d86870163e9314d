/**
 * Parsed files → validated entities, with no Admin API and no I/O: what a DB-less node
 * loads at start and on `POST /config`, and what the CLI's plan builds on.
 */
import {exportConfig, importConfig, type EntityArrays} from '../clustering/export.js'
import {getSchema, KINDS, rowsOf} from '../schema/registry.js'
import {nowFor, nowSeconds} from '../schema/validate.js'
import {blocking, ConfigInvalid, type ConfigProblem} from './errors.js'
import {flattenFiles} from './flatten.js'
import {resolveTarget} from './resolve.js'
import type {ParsedFile} from './source.js'
import type {State} from './state.js'

export interface Resolved {
  state: State
  warnings: string[]
  selectTags: string[]
  /** Ids of entities from a `_transform: false` file: their secrets are stored as written. */
  untransformed: Set<string>
}

/**
 * Flattens, resolves references and validates every entity (defaults filled). Entries
 * without ids keep the id of the `current` entity with the same natural key; a given
 * `created_at` is kept (validated as the schema's timestamp).
 * @throws ConfigInvalid with every problem found
 */
export function resolveFiles(files: readonly ParsedFile[], o: {current?: State; selectTags?: string[]} = {}): Resolved {
  const problems: ConfigProblem[] = []
  const raw = flattenFiles(files, problems)
  if (blocking(problems)) throw new ConfigInvalid(problems)
  const selectTags = [...new Set([...(o.selectTags ?? []), ...raw.selectTags])]
  const target = resolveTarget(raw, {current: o.current, selectTags, createdAt: true}, problems)
  if (problems.length) throw new ConfigInvalid(problems)
  return {state: target.state, warnings: raw.warnings, selectTags, untransformed: target.untransformed}
}

/**
 * The entity shape the proxy and the Admin API serve (every field present, null when
 * unset, references as `{id}`), with timestamps: `created_at` as the file gives it, else
 * kept for entities already in `previous`, else now; `updated_at` kept for entities
 * already in `previous`, else now.
 */
export function toEntityArrays(state: State, previous?: EntityArrays): EntityArrays {
  const out = importConfig(exportConfig(state))
  for (const kind of KINDS) {
    const schema = getSchema(kind)
    const now = schema ? nowFor(schema) : nowSeconds()
    const rows = rowsOf(out, kind)
    const before = new Map(rowsOf(previous ?? {}, kind).map((e) => [e.id, e]))
    for (const row of rows) {
      const old = before.get(row.id)
      if ('created_at' in row) row.created_at = row.created_at ?? old?.created_at ?? now
      if ('updated_at' in row) row.updated_at = old?.updated_at ?? now
    }
  }
  return out
}
