/**
 * Kong's configuration hash (`kong/clustering/config_helper.lua`), byte for byte:
 *
 *   canonical(v): null → "/null/"; string, number → itself; boolean → "true"/"false";
 *                 empty array or object → "{}"; array of ≤5 → items joined by ";";
 *                 longer array → every item followed by ";"; object → for each key in
 *                 sorted order "key:" canonical(value) ";".
 *   While writing, whenever the buffer has grown past 1,000,000 bytes it is replaced by
 *   the 16 raw bytes of its md5 (checked at the start of every value).
 *
 *   hashes = md5 hex of canonical(config.routes), …services, …plugins, …upstreams,
 *            …targets (or 32 zeros when absent), and of the rest of the table;
 *   config_hash = md5(routes_hash .. services_hash .. plugins_hash .. upstreams_hash
 *                     .. targets_hash .. rest_hash).
 */
import {createHash, type Hash} from 'node:crypto'
import type {Kind} from '../schema/registry.js'

export const EMPTY_CONFIG_HASH = '00000000000000000000000000000000'
// Kong's own order and choice of kinds (part of the hash), not the registry's.
const GRANULAR = ['routes', 'services', 'plugins', 'upstreams', 'targets'] as const satisfies readonly Kind[]
const LIMIT = 1_000_000

export interface ConfigHashes {
  config: string
  routes: string
  services: string
  plugins: string
  upstreams: string
  targets: string
}

/** An append-only byte buffer that folds itself into its md5 past the limit. */
class Canon {
  private chunks: Buffer[] = []
  private size = 0
  private pending = ''

  put(s: string): void {
    this.pending += s
    if (this.pending.length > 8192) this.flush()
  }

  private flush(): void {
    if (!this.pending) return
    const b = Buffer.from(this.pending, 'utf8')
    this.chunks.push(b)
    this.size += b.length
    this.pending = ''
  }

  /** Kong's check at the start of every value. */
  fold(): void {
    // A UTF-16 length over the limit may still be under it in bytes, so flush to know.
    if (this.size + this.pending.length * 3 <= LIMIT) return
    this.flush()
    if (this.size <= LIMIT) return
    const digest = createHash('md5').update(Buffer.concat(this.chunks)).digest()
    this.chunks = [digest]
    this.size = digest.length
  }

  md5hex(): string {
    this.flush()
    const h = createHash('md5')
    for (const c of this.chunks) h.update(c)
    return h.digest('hex')
  }
}

/** LuaJIT prints numbers with "%.14g". */
export function luaNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e15) return String(n)
  if (!Number.isFinite(n)) return Number.isNaN(n) ? (Object.is(n, NaN) ? 'nan' : '-nan') : n > 0 ? 'inf' : '-inf'
  const exp = Math.floor(Math.log10(Math.abs(n)))
  if (exp < -4 || exp >= 14) {
    const [m, e] = n.toExponential(13).split('e')
    const mant = m.replace(/\.?0+$/, '')
    const ev = Number(e)
    return `${mant}e${ev < 0 ? '-' : '+'}${String(Math.abs(ev)).padStart(2, '0')}`
  }
  return String(Number(n.toPrecision(14)))
}

function write(v: unknown, o: Canon): void {
  o.fold()
  if (v === null || v === undefined) return o.put('/null/')
  switch (typeof v) {
    case 'string':
      return o.put(v)
    case 'number':
      return o.put(luaNumber(v))
    case 'boolean':
      return o.put(v ? 'true' : 'false')
    case 'object':
      break
    default:
      throw new Error('invalid type to be sorted (JSON types are supported)')
  }
  if (Array.isArray(v)) {
    if (v.length === 0) return o.put('{}')
    if (v.length <= 5) {
      v.forEach((x, i) => {
        if (i > 0) o.put(';')
        write(x, o)
      })
      return
    }
    for (const x of v) {
      write(x, o)
      o.put(';')
    }
    return
  }
  const keys = Object.keys(v as object).filter((k) => (v as Record<string, unknown>)[k] !== undefined)
  if (keys.length === 0) return o.put('{}')
  keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  for (const k of keys) {
    o.put(k)
    o.put(':')
    write((v as Record<string, unknown>)[k], o)
    o.put(';')
  }
}

/** md5 hex of the canonical form; EMPTY_CONFIG_HASH for an absent value. */
export function hashValue(v: unknown): string {
  if (v === undefined) return EMPTY_CONFIG_HASH
  const o = new Canon()
  write(v, o)
  return o.md5hex()
}

/** The config hash and the granular hashes of a `config_table`. */
export function configHash(config: Record<string, unknown>): ConfigHashes {
  const rest: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(config)) if (!(GRANULAR as readonly string[]).includes(k)) rest[k] = v
  const parts = Object.fromEntries(GRANULAR.map((k) => [k, hashValue(config[k])])) as Record<(typeof GRANULAR)[number], string>
  const restHash = hashValue(rest)
  const all = GRANULAR.map((k) => parts[k]).join('') + restHash
  return {config: createHash('md5').update(all).digest('hex'), ...parts}
}

/** The config hash of granular hashes (in Kong's order) and the rest's hash. */
export function combineHashes(parts: Omit<ConfigHashes, 'config'>, rest: string): ConfigHashes {
  const all = GRANULAR.map((k) => parts[k]).join('') + rest
  return {config: createHash('md5').update(all).digest('hex'), ...parts}
}

/** The kinds hashed on their own; every other kind is part of the rest. */
export const GRANULAR_KINDS: readonly string[] = GRANULAR

/** An item's canonical bytes (followed by ";") and where each of its values starts (byte offsets). */
export interface CanonPiece {
  bytes: Buffer
  starts: number[]
}

/** A Canon that records the byte offset of every value start instead of folding. */
class Recorder extends Canon {
  readonly starts: number[] = []
  private text = ''
  private bytes = 0
  override put(s: string): void {
    this.text += s
  }
  override fold(): void {
    this.bytes += Buffer.byteLength(this.text)
    this.starts.push(this.bytes)
    this.parts.push(this.text)
    this.text = ''
  }
  private parts: string[] = []
  piece(): CanonPiece {
    this.parts.push(this.text, ';')
    return {bytes: Buffer.from(this.parts.join(''), 'utf8'), starts: this.starts}
  }
}

/** A value's canonical bytes as an item of a longer array (followed by ";"), with its value starts. */
export function canonPiece(v: unknown): CanonPiece {
  const r = new Recorder()
  write(v, r)
  return r.piece()
}

/**
 * Where an earlier hashItemsCached run over a similar array stood: that array, the md5
 * state at the start of every segment, and the segments. A run over an array whose first k
 * items are the same objects starts from the last mark at or before k instead of from the
 * first item (md5 chains, so everything after the first changed item is hashed again: on
 * average half).
 *
 * A segment is the canonical bytes of a run of up to 2 × MARK_EVERY consecutive items, kept
 * in one buffer under its first item: an unchanged run is one md5 update of bytes already
 * laid out, not a lookup and a copy per item (at 10,000 routes that was about as much as
 * md5 itself). It is used while the same objects follow its first item, so an insert or a
 * delete elsewhere leaves it usable; a run that changed is laid out again, and the items'
 * cached pieces become views into the new buffer (one copy of the bytes is kept).
 */
export interface HashResume {
  items: readonly object[]
  marks: Array<{index: number; hash: Hash; size: number}>
  segments: WeakMap<object, Segment>
}

interface Segment {
  items: readonly object[]
  bytes: Buffer
}

const MARK_EVERY = 128
/** Pieces passed to md5 in one update (fewer calls without one big copy). */
const BATCH = 64

export const newHashResume = (): HashResume => ({items: [], marks: [], segments: new WeakMap()})

/** Whether `seg` is still the run of items starting at `at`. */
function segmentAt(segments: WeakMap<object, Segment>, items: readonly object[], at: number): Segment | undefined {
  const seg = segments.get(items[at])
  if (!seg) return undefined
  const n = seg.items.length
  if (at + n > items.length) return undefined
  for (let j = 1; j < n; j++) if (seg.items[j] !== items[at + j]) return undefined
  return seg
}

/**
 * The hash of an array of more than 5 items (`hashValue(items.map(view))`), each item's
 * canonical bytes kept in `cache` by item: an array where few items changed is hashed
 * again without writing the others' canonical form, and with `resume`, without hashing
 * the items before the first change again, and the unchanged runs after it from their
 * segments. Folds exactly where Kong's writer folds.
 */
export function hashItemsCached<T extends object>(items: readonly T[], view: (item: T) => unknown, cache: WeakMap<T, CanonPiece>, resume?: HashResume): string {
  if (items.length <= 5) {
    if (resume) Object.assign(resume, newHashResume())
    return hashValue(items.map(view))
  }
  let h = createHash('md5')
  let size = 0
  let start = 0
  if (resume) {
    const prev = resume.items
    const n = Math.min(prev.length, items.length)
    let same = 0
    while (same < n && prev[same] === items[same]) same++
    while (resume.marks.length && resume.marks[resume.marks.length - 1].index > same) resume.marks.pop()
    const mark = resume.marks[resume.marks.length - 1]
    if (mark) {
      h = mark.hash.copy()
      size = mark.size
      start = mark.index
    }
    resume.items = items
  }
  let batch: Buffer[] = []
  const flush = () => {
    if (batch.length) h.update(batch.length === 1 ? batch[0] : Buffer.concat(batch))
    batch = []
  }
  const piece = (item: T): CanonPiece => {
    let p = cache.get(item)
    if (!p) cache.set(item, (p = canonPiece(view(item))))
    return p
  }
  /** One item's bytes, folding where Kong's writer would. */
  const add = (p: CanonPiece) => {
    if (size + p.bytes.length <= LIMIT) {
      batch.push(p.bytes)
      size += p.bytes.length
      if (batch.length >= BATCH) flush()
      return
    }
    // a fold may happen inside this item: at the first value start past the limit
    let from = 0
    for (const at of p.starts) {
      if (size + (at - from) <= LIMIT) continue
      batch.push(p.bytes.subarray(from, at))
      flush()
      const digest = h.digest()
      h = createHash('md5')
      h.update(digest)
      size = digest.length
      from = at
    }
    batch.push(p.bytes.subarray(from))
    size += p.bytes.length - from
  }
  if (!resume) {
    for (const item of items) add(piece(item))
    flush()
    return h.digest('hex')
  }
  const {segments} = resume
  for (let i = start; i < items.length; ) {
    if (i > start) resume.marks.push({index: i, hash: h.copy(), size})
    let seg = segmentAt(segments, items, i)
    if (!seg) {
      // lay out a new segment: up to the next segment still in place (once it has half
      // of MARK_EVERY items, so that segments cut by deletes merge), at most 2 × MARK_EVERY
      let end = i + 1
      while (end < items.length && end - i < 2 * MARK_EVERY && !(end - i >= MARK_EVERY / 2 && segmentAt(segments, items, end))) end++
      const run = items.slice(i, end)
      const ps = run.map(piece)
      const bytes = Buffer.concat(ps.map((p) => p.bytes))
      let off = 0
      run.forEach((item, j) => {
        const len = ps[j].bytes.length
        cache.set(item, {bytes: bytes.subarray(off, off + len), starts: ps[j].starts})
        off += len
      })
      seg = {items: run, bytes}
      segments.set(run[0], seg)
    }
    if (size + seg.bytes.length <= LIMIT) {
      flush()
      h.update(seg.bytes)
      size += seg.bytes.length
    } else {
      for (const item of seg.items) add(piece(item as T))
      flush()
    }
    i += seg.items.length
  }
  flush()
  return h.digest('hex')
}
