/**
 * Files → a flat list of entries. Nesting comes from each schema's `nested` list
 * (services → routes/plugins, routes → plugins, …): a nested child gets a link to its
 * parent entry, resolved to the parent's id once ids are known (see resolve.ts).
 */
import {getSchema} from '../schema/registry.js'
import type {EntitySchema} from '../schema/field.js'
import type {ConfigProblem, Origin} from './errors.js'
import {migrateRoute, readMeta} from './format.js'
import {nestedOf} from './nesting.js'
import type {ParsedFile} from './source.js'

export interface Entry {
  kind: string
  /** The entity as written (nested children removed), later with id and resolved references. */
  entity: Record<string, unknown>
  origin: Origin
  /** Key path inside the file, for field lines. */
  keys: Array<string | number>
  file: ParsedFile
  /** Foreign fields implied by nesting: field → parent entry. */
  links: Record<string, Entry>
}

export interface RawTarget {
  entries: Entry[]
  selectTags: string[]
  warnings: string[]
  secrets: string[]
}

export function flattenFiles(files: readonly ParsedFile[], problems: ConfigProblem[]): RawTarget {
  const out: RawTarget = {entries: [], selectTags: [], warnings: [], secrets: []}
  for (const file of files) {
    const meta = readMeta(file, problems, out.warnings)
    for (const t of meta.selectTags) if (!out.selectTags.includes(t)) out.selectTags.push(t)
    out.secrets.push(...file.secrets)
    for (const [key, list] of Object.entries(file.data)) {
      const schema = getSchema(key)
      if (!schema || !Array.isArray(list)) continue
      list.forEach((item, i) => collect(schema, item, [key, i], {}, file, meta.legacy, out.entries, problems))
    }
  }
  return out
}

const pathText = (keys: ReadonlyArray<string | number>) => keys.map((k, i) => (typeof k === 'number' ? `[${k}]` : i ? `.${k}` : k)).join('')

function collect(
  schema: EntitySchema,
  item: unknown,
  keys: Array<string | number>,
  links: Record<string, Entry>,
  file: ParsedFile,
  legacy: boolean,
  entries: Entry[],
  problems: ConfigProblem[],
): void {
  // The line is looked up when a problem shows it: finding it means building the file's
  // YAML document, which costs more than everything else on a valid file.
  const origin: Origin = {
    file: file.name,
    path: pathText(keys),
    get line() {
      return file.lineOf(keys)
    },
    keys,
  }
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    problems.push({origin, message: `expected a ${schema.singular} (a map)`})
    return
  }
  const entity: Record<string, unknown> = {...(item as Record<string, unknown>)}
  stripEntityMeta(entity, origin, problems)
  if (legacy && schema.name === 'routes') migrateRoute(entity)
  const entry: Entry = {kind: schema.name, entity, origin, keys, file, links}
  // A child nested twice (plugin in route in service) belongs to its direct parent only, as in Kong.
  entries.push(entry)
  for (const n of nestedOf(schema)) {
    const children = entity[n.key]
    delete entity[n.key]
    if (children === undefined || children === null) continue
    if (!Array.isArray(children)) {
      problems.push({origin, field: n.key, message: 'expected an array'})
      continue
    }
    const child = getSchema(n.entity)!
    children.forEach((c, i) => collect(child, c, [...keys, n.key, i], {[n.via]: entry}, file, legacy, entries, problems))
  }
}

/** Kong accepts `_comment` (a string) and `_ignore` (an array) on every entity; neither is stored. */
function stripEntityMeta(entity: Record<string, unknown>, origin: Origin, problems: ConfigProblem[]): void {
  if (entity._comment !== undefined && entity._comment !== null && typeof entity._comment !== 'string') problems.push({origin, field: '_comment', message: 'expected a string'})
  if (entity._ignore !== undefined && entity._ignore !== null && !Array.isArray(entity._ignore)) problems.push({origin, field: '_ignore', message: 'expected an array'})
  delete entity._comment
  delete entity._ignore
}
