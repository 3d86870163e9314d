/**
 * A page of rows already in memory (a DB-less node's entities, an upstream's targets):
 * `size` and `offset` as the database's pages take them, the offset a position.
 */
import {invalidOffset, invalidOptions, invalidSize} from '../db/errors.js'
import {TAG_FILTER} from '../schema/field.js'
import {json, type Reply} from './reply.js'

export function page(r: {query: URLSearchParams; path: string}, all: ReadonlyArray<Record<string, unknown>>, topLevel: boolean): Reply {
  const sizeArg = r.query.get('size')
  const size = sizeArg !== null ? Number(sizeArg) : 100
  if (sizeArg !== null && (sizeArg.trim() === '' || Number.isNaN(size))) throw invalidSize('size must be a number')
  if (!Number.isInteger(size) || size < 1 || size > 1000) throw invalidSize('size must be an integer between 1 and 1000')
  const {tags, tagsAll} = tagsFilter(r.query, topLevel)
  const tagged = (e: Record<string, unknown>, t: string) => Array.isArray(e.tags) && e.tags.includes(t)
  const rows = tags?.length ? all.filter((e) => (tagsAll ? tags.every((t) => tagged(e, t)) : tags.some((t) => tagged(e, t)))) : all
  const offsetArg = r.query.get('offset')
  let start = 0
  if (offsetArg !== null) {
    const decoded = /^[A-Za-z0-9_-]+={0,2}$/.test(offsetArg) && offsetArg.length % 4 !== 1 ? Buffer.from(offsetArg, 'base64url').toString() : ''
    if (!/^\d+$/.test(decoded)) throw invalidOffset(offsetArg)
    start = Number(decoded)
  }
  const data = rows.slice(start, start + size)
  const more = start + size < rows.length
  const offset = more ? Buffer.from(String(start + size)).toString('base64url') : null
  return json(200, {data, next: offset ? nextPage(r, offset, topLevel) : null, ...(offset ? {offset} : {})})
}

/**
 * Kong's `next`: the path, then `offset`, then (top-level collections only) `tags` and
 * `size`, in that order (`kong/api/endpoints.lua`).
 */
export function nextPage(r: {path: string; query: URLSearchParams}, offset: string, topLevel: boolean): string {
  let next = `${r.path}?offset=${encodeURIComponent(offset)}`
  if (!topLevel) return next
  const tags = r.query.get('tags')
  const size = r.query.get('size')
  if (tags !== null) next += `&tags=${encodeURIComponent(tags)}`
  if (size !== null) next += `&size=${size}`
  return next
}

/**
 * `?tags=a,b` (every tag) or `?tags=a/b` (any), checked as Kong: empty is `cannot be
 * null`; a mix, characters no tag can have (a NUL byte) or bytes that were no UTF-8
 * (U+FFFD once decoded) are `invalid filter syntax`. A nested collection
 * (`/consumers/{c}/plugins`, `topLevel` false) ignores the filter, as Kong.
 */
export function tagsFilter(query: URLSearchParams, topLevel: boolean): {tags?: string[]; tagsAll: boolean} {
  const tagsArg = query.get('tags')
  if (tagsArg === '') throw invalidOptions({tags: 'cannot be null'})
  if (tagsArg !== null && ((!TAG_FILTER.all.test(tagsArg) && !TAG_FILTER.any.test(tagsArg)) || tagsArg.includes('\uFFFD'))) throw invalidOptions({tags: 'invalid filter syntax'})
  const tagsAll = !tagsArg?.includes('/')
  return {tags: tagsArg && topLevel ? tagsArg.split(tagsAll ? ',' : '/') : undefined, tagsAll}
}

/** Kong's `page_for_upstream` order: targets newest first (`created_at`, then `id`, descending). */
export function newestFirst<T extends Record<string, unknown>>(targets: readonly T[]): T[] {
  return [...targets].sort((a, b) => Number(b.created_at) - Number(a.created_at) || (String(b.id) < String(a.id) ? -1 : String(b.id) > String(a.id) ? 1 : 0))
}
