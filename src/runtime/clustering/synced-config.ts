/**
 * The data plane's configuration as the control plane sent it, kept so that a delta
 * (kctl_delta, protocol.ts) changes only what it names: each kind's entities stay ordered
 * by id (the order of the CP's export, which the config hash depends on), a changed kind is
 * copied before it changes (the running proxy snapshot keeps reading the old arrays), and
 * only the granular hashes of the kinds that changed are computed again. The result must
 * carry the hash the CP sent; else it is refused and the DP asks for the whole configuration.
 */
import {ENTITIES, getSchema, KINDS, type EntitySet} from '../schema/registry.js'
import {combineHashes, EMPTY_CONFIG_HASH, GRANULAR_KINDS, hashItemsCached, hashValue, newHashResume, type CanonPiece, type HashResume, type ConfigHashes} from './config-hash.js'
import {exportRow} from './export.js'
import type {Change, DeltaFrame, FullFrame} from './frame.js'

type Row = Record<string, unknown> & {id: string}

/** A delta that does not apply to what this DP has; the DP asks for the changes again. */
export class DeltaMismatch extends Error {
  constructor(
    message: string,
    /** true: ask for the whole configuration (the changes cannot be trusted to fit). */
    readonly full: boolean,
  ) {
    super(message)
    this.name = 'DeltaMismatch'
  }
}

export interface SyncedState {
  entities: EntitySet
  version: number
  hash: string
}

export class SyncedConfig {
  private entities: EntitySet | null = null
  private granular: Partial<Omit<ConfigHashes, 'config'>> = {}
  private rest: string | null = null
  /** Per granular kind, where its last hash stood (a change hashes from there on). */
  private resumes = new Map<string, HashResume>()
  /** -1: none, or a configuration without a version (from an older control plane): only a whole one follows. */
  version = -1
  hash = EMPTY_CONFIG_HASH

  current(): SyncedState | null {
    return this.entities ? {entities: this.entities, version: this.version, hash: this.hash} : null
  }

  /** A whole configuration (taken at once); its version is -1 when the CP does not version (an older kctl). */
  loadFull(frame: FullFrame): SyncedState {
    const entities = {} as Record<string, Row[]>
    for (const k of KINDS) entities[k] = sortedById((frame.entities as unknown as Record<string, Row[]>)[k] ?? [])
    this.entities = entities as unknown as EntitySet
    this.version = Number.isInteger(frame.msg.kctl_version) ? frame.msg.kctl_version! : -1
    this.hash = frame.msg.config_hash
    const {config: _, ...granular} = frame.msg.hashes ?? ({} as ConfigHashes)
    this.granular = frame.msg.hashes ? granular : {}
    this.rest = null
    return this.current()!
  }

  /**
   * Hashes the current entities of every granular kind once, so that the first delta after
   * a whole configuration hashes only from the change on (the marks and each entity's
   * canonical form are kept). Run when idle after loadFull; answers the kinds whose hash
   * differs from the control plane's (a delta onto them would be refused).
   */
  warm(): string[] {
    if (!this.entities) return []
    const rows = this.entities as unknown as Record<string, Row[]>
    const differ: string[] = []
    for (const kind of GRANULAR_KINDS) {
      const h = kindHash(kind, rows[kind], this.resume(kind))
      const known = this.granular[kind as keyof typeof this.granular]
      if (known !== undefined && known !== h) differ.push(kind)
    }
    return differ
  }

  /**
   * Applies the changes of a delta to a copy and checks the hash; `commit` makes it current
   * (once the proxy took it).
   * @throws DeltaMismatch
   */
  prepareDelta(frame: DeltaFrame): SyncedState & {commit(): void} {
    if (!this.entities) throw new DeltaMismatch('a delta arrived before any configuration', true)
    if (frame.msg.from !== this.version) throw new DeltaMismatch(`a delta from version ${frame.msg.from} arrived at version ${this.version}`, false)
    const next = {...(this.entities as unknown as Record<string, Row[]>)}
    const copied = new Set<string>()
    for (const c of frame.changes) {
      if (!copied.has(c.kind)) {
        next[c.kind] = [...(next[c.kind] ?? [])]
        copied.add(c.kind)
      }
      applyChange(next[c.kind], c)
    }
    const granular = {...this.granular}
    let rest = this.rest
    for (const kind of copied) {
      if (GRANULAR_KINDS.includes(kind)) granular[kind as keyof typeof granular] = kindHash(kind, next[kind], this.resume(kind))
      else rest = null
    }
    for (const kind of GRANULAR_KINDS) granular[kind as keyof typeof granular] ??= kindHash(kind, next[kind], this.resume(kind))
    rest ??= restHash(next)
    const hashes = combineHashes(granular as Omit<ConfigHashes, 'config'>, rest)
    if (hashes.config !== frame.msg.config_hash) {
      throw new DeltaMismatch(`the changes up to version ${frame.msg.version} give configuration ${hashes.config}, the control plane has ${frame.msg.config_hash}`, true)
    }
    return {
      entities: next as unknown as EntitySet,
      version: frame.msg.version,
      hash: hashes.config,
      commit: () => {
        this.entities = next as unknown as EntitySet
        this.granular = granular
        this.rest = rest
        this.version = frame.msg.version
        this.hash = hashes.config
      },
    }
  }

  private resume(kind: string): HashResume {
    let r = this.resumes.get(kind)
    if (!r) this.resumes.set(kind, (r = newHashResume()))
    return r
  }
}

const byId = (a: Row, b: Row) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

function sortedById(rows: Row[]): Row[] {
  for (let i = 1; i < rows.length; i++) if (rows[i - 1].id > rows[i].id) return [...rows].sort(byId)
  return rows
}

/** Binary search: the index of `id`, or -(insertion point) - 1. */
function find(rows: Row[], id: string): number {
  let lo = 0
  let hi = rows.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const v = rows[mid].id
    if (v < id) lo = mid + 1
    else if (v > id) hi = mid - 1
    else return mid
  }
  return -lo - 1
}

function applyChange(rows: Row[], c: Change): void {
  const at = find(rows, c.id)
  if (c.entity === null) {
    if (at >= 0) rows.splice(at, 1)
  } else if (at >= 0) rows[at] = c.entity as Row
  else rows.splice(-at - 1, 0, c.entity as Row)
}

/** Each entity's canonical form, kept while the entity object lives (an unchanged entity keeps its object). */
const pieces = new WeakMap<Row, CanonPiece>()

function kindHash(kind: string, rows: Row[] | undefined, resume: HashResume): string {
  if (!rows?.length) return EMPTY_CONFIG_HASH
  const schema = getSchema(kind)!
  return hashItemsCached(rows, (r) => exportRow(schema, r), pieces, resume)
}

/** The hash of everything but the granular kinds, as exportConfig lays it out. */
function restHash(entities: Record<string, Row[]>): string {
  const rest: Record<string, unknown> = {_format_version: '3.0', _transform: false}
  for (const schema of ENTITIES) {
    if (GRANULAR_KINDS.includes(schema.name)) continue
    const rows = entities[schema.name]
    if (rows?.length) rest[schema.name] = rows.map((r) => exportRow(schema, r))
  }
  return hashValue(rest)
}
