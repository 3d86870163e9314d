/**
 * Declarative problems → Kong's code 14 envelope (`kong/db/errors.lua`):
 *
 *   fields            the error table shaped like the input: `{services: [{routes:
 *                     [null, {paths: "…"}]}]}`, entity-level errors under `@entity`
 *   message           `declarative config is invalid: ` + the table, Lua-printed
 *   flattened_errors  (on request) one item per invalid entity: entity_type (singular),
 *                     entity_id, entity_name, entity_tags, entity (as written, nested
 *                     children removed, the parent's key added), errors [{type:
 *                     field|entity, field, message}] (see flatten-errors.ts); `fields`
 *                     then keeps only what no entity owns
 */
import {ErrorCode, luaPretty} from '../db/errors.js'
import type {ConfigProblem} from './errors.js'
import {flattenErrors, type Flattened} from './flatten-errors.js'
import type {ParsedFile} from './source.js'

export interface KongDeclarativeError {
  code: number
  name: string
  message: string
  fields: Record<string, unknown>
  flattened_errors?: Flattened[]
}

export function kongDeclarativeError(problems: readonly ConfigProblem[], files: readonly ParsedFile[], flatten: boolean): KongDeclarativeError {
  const fields: Record<string, unknown> = {}
  for (const p of problems) {
    if (p.kong) {
      setIn(fields, p.kong.keys ?? p.origin?.keys ?? ['error'], p.kong.message, false)
      continue
    }
    const keys = p.origin?.keys ?? (p.origin?.path && p.origin.path !== '$' ? [p.origin.path] : ['error'])
    const path = [...keys, ...(p.field ? p.field.split('.') : p.origin?.keys ? ['@entity'] : [])]
    setIn(fields, path, p.message, !p.field && Boolean(p.origin?.keys))
  }
  // As Kong: only a parsed input is flattened, and flattening drains `fields` down to
  // the errors no entity owns.
  const input = files[0]?.data
  const flattened = flatten && input ? flattenErrors(fields, structuredClone(input)) : undefined
  return {
    code: ErrorCode.DECLARATIVE_CONFIG,
    name: 'invalid declarative configuration',
    message: `declarative config is invalid: ${luaPretty(fields)}`,
    fields,
    ...(flattened ? {flattened_errors: flattened} : {}),
  }
}

/** A level of the error table: an object by field, or a list by index. */
type Level = Record<string | number, unknown>

function setIn(root: Level, path: ReadonlyArray<string | number>, message: string, list: boolean): void {
  let node = root
  path.forEach((k, i) => {
    const last = i === path.length - 1
    if (Array.isArray(node)) while (node.length <= (k as number)) node.push(null)
    if (last) {
      if (list) node[k] = [...(Array.isArray(node[k]) ? node[k] : []), message]
      else node[k] ??= message
      return
    }
    if (node[k] === null || typeof node[k] !== 'object') node[k] = typeof path[i + 1] === 'number' ? [] : {}
    node = node[k] as Level
  })
}
