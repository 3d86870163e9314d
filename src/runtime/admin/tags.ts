/**
 * Kong's `/tags` and `/tags/{tag}` (`kong/api/routes/tags.lua`): one row per tag of
 * every entity, `{entity_name, entity_id, tag}`, paged like any collection (`?size`,
 * `?offset`; `?tags=` is ignored, as Kong). A tag no entity could have is Kong's
 * `invalid unique tag: …` (400).
 */
import type pg from 'pg'
import {invalidOffset, invalidSize, invalidUnique} from '../db/errors.js'
import {tagsField} from '../schema/field.js'
import {ENTITIES, rowsOf, type EntitySet} from '../schema/registry.js'
import {json, METHOD_NOT_ALLOWED, type Reply} from './reply.js'

export interface TagRow {
  entity_name: string
  entity_id: string
  tag: string
}

const TAGGED = ENTITIES.filter((s) => s.fields.some(([n]) => n === 'tags'))
const tagCheck = tagsField()[1].elements.custom

interface TagSource {
  /** Rows ordered by entity name, id and tag, from `start`, at most `limit`. */
  rows(tag: string | undefined, start: number, limit: number): Promise<TagRow[]>
}

/** `/tags…` of a node over Postgres. */
export const pgTags = (pool: pg.Pool): TagSource => ({
  async rows(tag, start, limit) {
    const parts = TAGGED.map((s) => `SELECT '${s.name}' AS entity_name, id::text AS entity_id, t.tag FROM ${s.name}, jsonb_array_elements_text(CASE WHEN jsonb_typeof(tags) = 'array' THEN tags ELSE '[]'::jsonb END) AS t(tag)`)
    const where = tag === undefined ? '' : ' WHERE tag = $3'
    const res = await pool.query(`SELECT * FROM (${parts.join(' UNION ALL ')}) AS x${where} ORDER BY entity_name, entity_id, tag OFFSET $1 LIMIT $2`, tag === undefined ? [start, limit] : [start, limit, tag])
    return res.rows
  },
})

/** `/tags…` of a DB-less node, from its loaded configuration. */
export const memoryTags = (entities: () => EntitySet): TagSource => ({
  async rows(tag, start, limit) {
    const all: TagRow[] = []
    for (const s of TAGGED) {
      for (const e of rowsOf(entities(), s.name)) for (const t of (e.tags as string[] | null) ?? []) if (tag === undefined || t === tag) all.push({entity_name: s.name, entity_id: e.id, tag: t})
    }
    const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
    all.sort((a, b) => cmp(a.entity_name, b.entity_name) || cmp(a.entity_id, b.entity_id) || cmp(a.tag, b.tag))
    return all.slice(start, start + limit)
  },
})

/** null when the path is not `/tags` or `/tags/{tag}`. `pathname` as received (still percent-encoded). */
export async function tagsEndpoint(method: string, pathname: string, query: URLSearchParams, source: TagSource): Promise<Reply | null> {
  const raw = pathname.split('/').filter(Boolean)
  if (raw[0] !== 'tags' || raw.length > 2) return null
  if (method !== 'GET') return METHOD_NOT_ALLOWED
  let tag: string | undefined
  if (raw[1] !== undefined) {
    try {
      tag = decodeURIComponent(raw[1])
    } catch {
      // bytes that are no UTF-8 (Kong reads them raw and refuses them with its tag check's message)
      throw invalidUnique('tag', `invalid utf-8 character sequence detected at position ${badUtf8At(percentBytes(raw[1]))}`)
    }
    const err = tagCheck?.(tag)
    if (err) throw invalidUnique('tag', err)
  }
  const sizeArg = query.get('size')
  const size = sizeArg === null ? 100 : Number(sizeArg)
  if (sizeArg !== null && (sizeArg.trim() === '' || Number.isNaN(size))) throw invalidSize('size must be a number')
  if (!Number.isInteger(size) || size < 1 || size > 1000) throw invalidSize('size must be an integer between 1 and 1000')
  const offsetArg = query.get('offset')
  let start = 0
  if (offsetArg !== null) {
    start = Number(Buffer.from(offsetArg, 'base64url').toString())
    if (!Number.isInteger(start) || start < 0) throw invalidOffset(offsetArg)
  }
  const rows = await source.rows(tag, start, size + 1)
  const more = rows.length > size
  const offset = more ? Buffer.from(String(start + size)).toString('base64url') : null
  const path = tag === undefined ? '/tags' : `/tags/${encodeURIComponent(tag)}`
  return json(200, {data: rows.slice(0, size), next: offset ? `${path}?offset=${offset}` : null, ...(offset ? {offset} : {})})
}

/** The bytes a percent-encoded path segment stands for. */
function percentBytes(seg: string): Buffer {
  const out: number[] = []
  for (let i = 0; i < seg.length; i++) {
    if (seg[i] === '%' && /^[0-9a-f]{2}$/i.test(seg.slice(i + 1, i + 3))) {
      out.push(parseInt(seg.slice(i + 1, i + 3), 16))
      i += 2
    } else out.push(...Buffer.from(seg[i]))
  }
  return Buffer.from(out)
}

/** 1-based position of the first byte that starts no valid UTF-8 sequence (Kong's `validate_utf8`). */
function badUtf8At(b: Buffer): number {
  let i = 0
  while (i < b.length) {
    const c = b[i]
    const len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0
    if (!len || i + len > b.length) return i + 1
    for (let k = 1; k < len; k++) if ((b[i + k] & 0xc0) !== 0x80) return i + 1
    i += len
  }
  return b.length + 1
}
