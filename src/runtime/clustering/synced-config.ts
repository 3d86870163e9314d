/**
 * A configuration that follows changes, kept so that a delta (kctl_delta, protocol.ts)
 * changes only what it names: each kind's entities stay ordered by id (the order of the
 * export, which the config hash depends on), a changed kind is copied before it changes
 * (a running proxy snapshot keeps reading the old arrays), and only the hashes of the
 * kinds that changed are computed again.
 *
 *   data plane:    the configuration as the control plane sent it. A delta must come out as
 *                  the CP's: with the CP's digest (below) when it sends one, else with the
 *                  CP's config hash; otherwise it is refused and the DP asks again.
 *   control plane: its own configuration, read once from Postgres and then following the
 *                  changes the database recorded (db/sync-deltas.ts), every hash computed here.
 *
 * The digest: the sum, modulo 2^128, of the md5 of every entity's kind and canonical form.
 * A change adds and removes one term, so checking a delta costs what the delta costs,
 * where Kong's chained config hash costs everything after the first changed entity (half
 * of 10,000 routes, on average). Equal digests mean equal entity sets, and the entity set
 * in id order is what the config hash is computed from.
 */
import {createHash} from 'node:crypto'
import {ENTITIES, getSchema, KINDS, type EntitySet} from '../schema/registry.js'
import {canonPiece, combineHashes, EMPTY_CONFIG_HASH, GRANULAR_KINDS, hashItemsCached, hashValue, newHashResume, type CanonPiece, type HashResume, type ConfigHashes} from './config-hash.js'
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

/** A control plane's own configuration: every hash, and the digest its deltas carry. */
export interface OwnState extends SyncedState {
  hashes: ConfigHashes
  digest: string
}

export class SyncedConfig {
  private entities: EntitySet | null = null
  private granular: Partial<Omit<ConfigHashes, 'config'>> = {}
  private rest: string | null = null
  /** Per granular kind, where its last hash stood (a change hashes from there on). */
  private resumes = new Map<string, HashResume>()
  /** The digest of `entities`; null until needed (warm, or a delta that carries one). */
  private digest: bigint | null = null
  /** When the first entity with a `ttl` runs out (seconds); a control plane then reads everything again. */
  private expiry = Infinity
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
    this.digest = null
    return this.current()!
  }

  /** A configuration this process read itself (a control plane's, from Postgres); every hash computed here. */
  loadOwn(entities: EntitySet, version: number): OwnState {
    const sorted = {} as Record<string, Row[]>
    for (const k of KINDS) sorted[k] = sortedById(((entities as unknown as Record<string, Row[]>)[k] ?? []) as Row[])
    this.entities = sorted as unknown as EntitySet
    this.granular = {}
    this.rest = null
    const {hashes, granular, rest} = this.hashesAfter(sorted, new Set())
    this.granular = granular
    this.rest = rest
    this.digest = digestOf(sorted)
    this.expiry = firstExpiry(sorted)
    this.version = version
    this.hash = hashes.config
    return {...this.current()!, hashes, digest: hex(this.digest)}
  }

  /** Changes this process read itself (a control plane's, from the database's history), applied. */
  applyOwn(changes: readonly Change[], version: number): OwnState {
    const {commit, ...state} = this.prepareOwn(changes, version)
    commit()
    return state
  }

  /**
   * Changes whose result no peer vouches for (a control plane's own, or `kong.sync.v2`
   * deltas, which carry no hash), applied to a copy with every hash computed here;
   * `commit` makes it current.
   * @throws DeltaMismatch when there is no configuration to apply them to
   */
  prepareOwn(changes: readonly Change[], version: number): OwnState & {commit(): void} {
    if (!this.entities) throw new DeltaMismatch('changes arrived before any configuration', true)
    const {next, copied, digest} = this.apply(changes, true)
    const {hashes, granular, rest} = this.hashesAfter(next, copied)
    return {
      entities: next as unknown as EntitySet,
      version,
      hash: hashes.config,
      hashes,
      digest: hex(digest!),
      commit: () => {
        this.entities = next as unknown as EntitySet
        this.granular = granular
        this.rest = rest
        this.digest = digest
        for (const c of changes) if (c.entity) this.expiry = Math.min(this.expiry, expiryOf(c.entity))
        this.version = version
        this.hash = hashes.config
      },
    }
  }

  /** Whether an entity with a `ttl` ran out since (the database no longer shows it; no change says so). */
  expiredBy(nowSeconds: number): boolean {
    return nowSeconds >= this.expiry
  }

  /**
   * Hashes the current entities of every granular kind once, so that the first delta after
   * a whole configuration hashes only from the change on (the marks and each entity's
   * canonical form are kept), and sums the digest. Run when idle after loadFull; answers
   * the kinds whose hash differs from the control plane's (a delta onto them would be
   * refused).
   *
   * A generator: it stops after every WARM_SLICE entities digested and every WARM_HASH_SLICE
   * hashed, so that the caller lets the event loop run in between (at 10,000 routes it is ~300 ms of
   * CPU). What it did is kept whatever happens next; it ends early, answering nothing, once
   * another configuration is current.
   */
  *warming(): Generator<void, string[], void> {
    const rows = this.entities as unknown as Record<string, Row[]> | null
    if (!rows) return []
    if (this.digest === null) {
      let n = 0
      for (const kind of KINDS) {
        for (const row of rows[kind] ?? []) {
          entityDigest(kind, row)
          if (++n % WARM_SLICE !== 0) continue
          yield
          if (this.entities !== (rows as unknown)) return []
        }
      }
      this.digest = digestOf(rows) // a sum of terms computed above
    }
    const differ: string[] = []
    for (const kind of GRANULAR_KINDS) {
      // the marks are laid a prefix at a time: each run goes on from the last one's last mark
      const all = rows[kind] ?? []
      for (let k = WARM_HASH_SLICE; k < all.length; k += WARM_HASH_SLICE) {
        yield
        if (this.entities !== (rows as unknown)) return []
        kindHash(kind, all.slice(0, k), this.resume(kind))
      }
      yield
      if (this.entities !== (rows as unknown)) return []
      const h = kindHash(kind, all, this.resume(kind))
      const known = this.granular[kind as keyof typeof this.granular]
      if (known !== undefined && known !== h) differ.push(kind)
    }
    return differ
  }

  /** `warming` in one go. */
  warm(): string[] {
    const steps = this.warming()
    for (;;) {
      const r = steps.next()
      if (r.done) return r.value
    }
  }

  /**
   * Applies the changes of a delta to a copy and checks it against the CP's digest (or,
   * from a CP that sends none, its config hash); `commit` makes it current (once the proxy
   * took it).
   * @throws DeltaMismatch
   */
  prepareDelta(frame: DeltaFrame): SyncedState & {commit(): void} {
    if (!this.entities) throw new DeltaMismatch('a delta arrived before any configuration', true)
    if (frame.msg.from !== this.version) throw new DeltaMismatch(`a delta from version ${frame.msg.from} arrived at version ${this.version}`, false)
    const expected = frame.msg.kctl_digest
    const {next, copied, digest} = this.apply(frame.changes, expected !== undefined)
    let granular: Partial<Omit<ConfigHashes, 'config'>>
    let rest: string | null
    if (expected !== undefined) {
      if (hex(digest!) !== expected) throw new DeltaMismatch(`the changes up to version ${frame.msg.version} do not give the control plane's configuration (digest ${hex(digest!)}, the control plane has ${expected})`, true)
      // the same entities as the CP's: its hashes are this configuration's
      const {config: _, ...sent} = frame.msg.hashes ?? ({} as ConfigHashes)
      granular = frame.msg.hashes ? sent : {}
      rest = null
    } else {
      const after = this.hashesAfter(next, copied)
      if (after.hashes.config !== frame.msg.config_hash) {
        throw new DeltaMismatch(`the changes up to version ${frame.msg.version} give configuration ${after.hashes.config}, the control plane has ${frame.msg.config_hash}`, true)
      }
      ;({granular, rest} = after)
    }
    return {
      entities: next as unknown as EntitySet,
      version: frame.msg.version,
      hash: frame.msg.config_hash,
      commit: () => {
        this.entities = next as unknown as EntitySet
        this.granular = granular
        this.rest = rest
        this.digest = digest
        this.version = frame.msg.version
        this.hash = frame.msg.config_hash
      },
    }
  }

  /** The changes applied to copies of the kinds they touch; with the digest after them when asked (or known). */
  private apply(changes: readonly Change[], withDigest: boolean): {next: Record<string, Row[]>; copied: Set<string>; digest: bigint | null} {
    const current = this.entities as unknown as Record<string, Row[]>
    const next = {...current}
    const copied = new Set<string>()
    let digest = withDigest ? (this.digest ??= digestOf(current)) : this.digest
    for (const c of changes) {
      if (!copied.has(c.kind)) {
        next[c.kind] = [...(next[c.kind] ?? [])]
        copied.add(c.kind)
      }
      const was = applyChange(next[c.kind], c)
      if (digest === null) continue
      if (was) digest = (digest - entityDigest(c.kind, was)) & MASK
      if (c.entity) digest = (digest + entityDigest(c.kind, c.entity as Row)) & MASK
    }
    return {next, copied, digest}
  }

  /** Every hash of `next`, computing again only the kinds in `changed` (and those never computed). */
  private hashesAfter(next: Record<string, Row[]>, changed: ReadonlySet<string>): {hashes: ConfigHashes; granular: Omit<ConfigHashes, 'config'>; rest: string} {
    const granular = {...this.granular}
    let rest = this.rest
    for (const kind of changed) {
      if (GRANULAR_KINDS.includes(kind)) granular[kind as keyof typeof granular] = kindHash(kind, next[kind], this.resume(kind))
      else rest = null
    }
    for (const kind of GRANULAR_KINDS) granular[kind as keyof typeof granular] ??= kindHash(kind, next[kind], this.resume(kind))
    rest ??= restHash(next)
    return {hashes: combineHashes(granular as Omit<ConfigHashes, 'config'>, rest), granular: granular as Omit<ConfigHashes, 'config'>, rest}
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

/** @returns the entity the change replaced or removed, if there was one */
function applyChange(rows: Row[], c: Change): Row | undefined {
  const at = find(rows, c.id)
  const was = at >= 0 ? rows[at] : undefined
  if (c.entity === null) {
    if (at >= 0) rows.splice(at, 1)
  } else if (at >= 0) rows[at] = c.entity as Row
  else rows.splice(-at - 1, 0, c.entity as Row)
  return was
}

/** Each entity's canonical form, kept while the entity object lives (an unchanged entity keeps its object). */
const pieces = new WeakMap<Row, CanonPiece>()

function kindHash(kind: string, rows: Row[] | undefined, resume: HashResume): string {
  if (!rows?.length) return EMPTY_CONFIG_HASH
  const schema = getSchema(kind)!
  return hashItemsCached(rows, (r) => exportRow(schema, r), pieces, resume)
}

/** Entities digested between two stops of `warming` (~25 µs each). */
const WARM_SLICE = 64
/** Entities of a kind added to its hash between two stops of `warming` (~1 µs each). */
const WARM_HASH_SLICE = 1024

const MASK = (1n << 128n) - 1n
const hex = (d: bigint) => d.toString(16).padStart(32, '0')

/** Each entity's term of the digest, kept while the entity object lives. */
const digests = new WeakMap<Row, bigint>()

function entityDigest(kind: string, row: Row): bigint {
  let d = digests.get(row)
  if (d !== undefined) return d
  let p = pieces.get(row)
  if (!p) pieces.set(row, (p = canonPiece(exportRow(getSchema(kind)!, row))))
  d = BigInt(`0x${createHash('md5').update(kind).update('\n').update(p.bytes).digest('hex')}`)
  digests.set(row, d)
  return d
}

function digestOf(entities: Record<string, Row[]>): bigint {
  let d = 0n
  for (const kind of KINDS) for (const row of entities[kind] ?? []) d += entityDigest(kind, row)
  return d & MASK
}

/** When a row with a `ttl` (seconds from `created_at`) runs out; Infinity without one. */
function expiryOf(row: Record<string, unknown>): number {
  return typeof row.ttl === 'number' && row.ttl > 0 && typeof row.created_at === 'number' ? row.created_at + row.ttl : Infinity
}

function firstExpiry(entities: Record<string, Row[]>): number {
  let first = Infinity
  for (const schema of ENTITIES) {
    if (!schema.fields.some(([n]) => n === 'ttl')) continue
    for (const row of entities[schema.name] ?? []) first = Math.min(first, expiryOf(row))
  }
  return first
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
