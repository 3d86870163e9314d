/**
 * Declarative problems → Kong's code 14 envelope (`kong/db/errors.lua`):
 *
 *   fields            the error table shaped like the input: `{services: [{routes:
 *                     [null, {paths: "…"}]}]}`, entity-level errors under `@entity`
 *   message           `declarative config is invalid: ` + the table, Lua-printed
 *   flattened_errors  (on request) one item per invalid entity: entity_type (singular),
 *                     entity_id, entity_name, entity_tags, entity (as written, nested
 *                     children removed), errors [{type: field|entity, field, message}]
 */
import {ErrorCode, luaPretty} from '../errors.js'
import {getSchema} from '../schema/registry.js'
import {isUuid} from '../schema/validate.js'
import type {ConfigProblem} from './errors.js'
import {nestedOf} from './nesting.js'
import type {ParsedFile} from './source.js'

export interface KongDeclarativeError {
  code: number
  name: string
  message: string
  fields: Record<string, unknown>
  flattened_errors?: Array<Record<string, unknown>>
}

export function kongDeclarativeError(problems: readonly ConfigProblem[], files: readonly ParsedFile[], flatten: boolean): KongDeclarativeError {
  const fields: Record<string, any> = {}
  for (const p of problems) {
    const keys = p.origin?.keys ?? (p.origin?.path && p.origin.path !== '$' ? [p.origin.path] : ['error'])
    const path = [...keys, ...(p.field ? p.field.split('.') : p.origin?.keys ? ['@entity'] : [])]
    setIn(fields, path, p.message, !p.field && Boolean(p.origin?.keys))
  }
  const out: KongDeclarativeError = {code: ErrorCode.DECLARATIVE_CONFIG, name: 'invalid declarative configuration', message: `declarative config is invalid: ${luaPretty(fields)}`, fields}
  if (flatten) out.flattened_errors = flattened(problems, files)
  return out
}

function setIn(root: Record<string, any>, path: ReadonlyArray<string | number>, message: string, list: boolean): void {
  let node: any = root
  path.forEach((k, i) => {
    const last = i === path.length - 1
    if (Array.isArray(node)) while (node.length <= (k as number)) node.push(null)
    if (last) {
      if (list) node[k] = [...(Array.isArray(node[k]) ? node[k] : []), message]
      else node[k] ??= message
      return
    }
    if (node[k] === null || typeof node[k] !== 'object') node[k] = typeof path[i + 1] === 'number' ? [] : {}
    node = node[k]
  })
}

function flattened(problems: readonly ConfigProblem[], files: readonly ParsedFile[]): Array<Record<string, unknown>> {
  const groups = new Map<string, ConfigProblem[]>()
  for (const p of problems) {
    if (!p.origin?.keys) continue
    const id = `${p.origin.file}\u0000${JSON.stringify(p.origin.keys)}`
    groups.set(id, [...(groups.get(id) ?? []), p])
  }
  return [...groups.values()].map((list) => {
    const {keys, file} = list[0].origin!
    const kind = String(keys![keys!.length - 2])
    const schema = getSchema(kind)
    const written = getIn(files.find((f) => f.name === file)?.data, keys!)
    const entity: Record<string, any> = written && typeof written === 'object' ? {...written} : {}
    for (const n of schema?.nested ?? []) delete entity[n.key]
    return {
      entity_type: schema?.singular ?? kind,
      ...(isUuid(entity.id) ? {entity_id: entity.id} : {}),
      ...(typeof entity.name === 'string' && entity.name ? {entity_name: entity.name} : {}),
      ...(Array.isArray(entity.tags) && entity.tags.every((t: unknown) => typeof t === 'string') ? {entity_tags: entity.tags} : {}),
      entity,
      errors: list.map((p) => (p.field ? {type: 'field', field: p.field, message: p.message} : {type: 'entity', message: p.message})),
    }
  })
}

function getIn(data: unknown, keys: ReadonlyArray<string | number>): unknown {
  let v: any = data
  for (const k of keys) v = v?.[k]
  return v
}
