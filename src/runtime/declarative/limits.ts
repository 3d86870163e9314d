/**
 * Bounds on declarative input, checked before the expensive steps so that an oversized
 * input is refused in milliseconds instead of parsing for a minute:
 *
 *   file ──stat: size ≤ maxFileSize──► read (stdin: counted, stops at the limit)
 *        ──parse──► count entities ≤ maxEntities ──► flatten, resolve, validate
 *
 * Whoever reads the input (the CLI, a node's `POST /config`) chooses the limits and says
 * how to raise them; this module only measures and throws `InputTooLarge`.
 */
import {stat} from 'node:fs/promises'
import {getSchema} from '../schema/registry.js'
import {nestedOf} from './nesting.js'
import type {EntitySchema} from '../schema/field.js'

export interface InputLimits {
  /** Bytes per file (stdin included). */
  maxFileSize: number
  /** Entities in all files together, nested ones included. */
  maxEntities: number
}

/**
 * A 10,000-route file (each route with its service) is ~1.1 MB and 20,000 entities;
 * the defaults leave room for ten times that. Above them parsing and validation take
 * tens of seconds and gigabytes.
 */
export const DEFAULT_INPUT_LIMITS: InputLimits = {maxFileSize: 32 * 1024 * 1024, maxEntities: 200_000}

/** Which limit was passed, by whom, by how much. */
export class InputTooLarge extends Error {
  constructor(
    readonly limit: keyof InputLimits,
    /** The file (`<stdin>`), or how the input is named by its reader. */
    readonly source: string,
    /** Bytes or entities found; for stdin, the bytes read when reading stopped. */
    readonly actual: number,
    readonly max: number,
    readonly atLeast = false,
  ) {
    super(
      limit === 'maxFileSize'
        ? `${source} is ${atLeast ? `more than ${formatBytes(max)}` : formatBytes(actual)}, over the file size limit of ${formatBytes(max)}`
        : `${source} ${/^the \d+ files$/.test(source) ? 'have' : 'has'} ${actual.toLocaleString('en-US')} entities, over the limit of ${max.toLocaleString('en-US')} entities`,
    )
    this.name = 'InputTooLarge'
  }
}

/** `33554432` → `32 MiB`, `1500` → `1500 bytes`. */
export function formatBytes(n: number): string {
  for (const [unit, size] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (n >= size) return `${Number((n / size).toFixed(1))} ${unit}`
  }
  return `${n} bytes`
}

/**
 * `64MiB`, `64M`, `512k`, `1G`, `1048576` → bytes (k/M/G are binary, as `--max-file-size`
 * users think of them). Returns undefined for anything else.
 */
export function parseBytes(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?\s*$/i.exec(text)
  if (!m) return undefined
  const unit = (m[2] ?? 'b').toLowerCase()[0]
  const n = Math.floor(Number(m[1]) * ({b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30} as Record<string, number>)[unit])
  return n > 0 ? n : undefined
}

/** @throws InputTooLarge when `file` is bigger than `max` bytes; stat only, nothing read. */
export async function checkFileSize(file: string, max: number): Promise<void> {
  const s = await stat(file)
  if (s.isFile() && s.size > max) throw new InputTooLarge('maxFileSize', file, s.size, max)
}

/**
 * Reads a stream to its end as UTF-8, counting: past `max` bytes it stops reading and
 * throws, so a pipe of any size costs at most `max` bytes of memory.
 * @throws InputTooLarge
 */
export async function readLimited(stream: AsyncIterable<Buffer | string>, max: number, source: string): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of stream) {
    const chunk = typeof c === 'string' ? Buffer.from(c) : c
    size += chunk.length
    if (size > max) throw new InputTooLarge('maxFileSize', source, size, max, true)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * Entities in one parsed file: every element of a top-level entity array and of the
 * arrays nested in them (routes in services, plugins in routes, credentials in
 * consumers), as flattening will see them. Cheap: no validation, no copies.
 */
export function countEntities(data: Record<string, unknown>): number {
  let n = 0
  for (const [key, list] of Object.entries(data)) {
    const schema = getSchema(key)
    if (schema && Array.isArray(list)) n += countList(schema, list)
  }
  return n
}

function countList(schema: EntitySchema, list: readonly unknown[]): number {
  let n = list.length
  const nested = nestedOf(schema)
  if (!nested.length) return n
  for (const item of list) {
    if (item === null || typeof item !== 'object') continue
    for (const child of nested) {
      const children = (item as Record<string, unknown>)[child.key]
      if (Array.isArray(children)) n += countList(getSchema(child.entity)!, children)
    }
  }
  return n
}

/** @throws InputTooLarge when the files together hold more than `max` entities. */
export function checkEntityCount(files: ReadonlyArray<{name: string; data: Record<string, unknown>}>, max: number): void {
  const total = files.reduce((n, f) => n + countEntities(f.data), 0)
  if (total > max) throw new InputTooLarge('maxEntities', files.length === 1 ? files[0].name : `the ${files.length} files`, total, max)
}
