/**
 * The declarative format around the entities: `_format_version` (required: "3.0"; "1.1"
 * and "2.1" are migrated on the fly like `deck file convert`), `_transform`, `_comment`, `_ignore`,
 * `_info.select_tags`. Anything else at the top level must be an entity collection.
 */
import {getSchema} from '../schema/registry.js'
import type {ConfigProblem} from './errors.js'
import type {ParsedFile} from './source.js'

export const FORMAT_VERSION = '3.0'
const LEGACY = new Set(['1.1', '2.1'])
const META = new Set(['_format_version', '_transform', '_comment', '_ignore', '_info', '_workspace'])

export interface FileMeta {
  /** True for 1.1/2.1 files: their regex paths get a `~`. */
  legacy: boolean
  selectTags: string[]
}

/** Reads the top-level keys of one file; problems are appended, warnings returned. */
export function readMeta(file: ParsedFile, problems: ConfigProblem[], warnings: string[]): FileMeta {
  const d = file.data
  // The line only when a problem shows it: finding it builds the file's YAML document.
  const at = (key: string) => ({
    file: file.name,
    path: key,
    get line() {
      return file.lineOf([key])
    },
  })
  let legacy = false
  // Required, as in Kong's declarative schema: an empty or cut-short file has none, and
  // must not read as "no entities" (which would delete everything).
  if (d._format_version === undefined || d._format_version === null) {
    problems.push({origin: {file: file.name, path: '_format_version'}, message: 'required field missing', hint: `add _format_version: "${FORMAT_VERSION}" at the top of ${file.name} (a file without it may be empty or cut short)`})
  } else {
    const version = String(d._format_version)
    if (LEGACY.has(version)) {
      legacy = true
      warnings.push(`${file.name}: _format_version ${version} is deprecated; read as ${FORMAT_VERSION} (regex paths get a '~' prefix). Convert the file with _format_version "${FORMAT_VERSION}".`)
    } else if (version !== FORMAT_VERSION) {
      problems.push({origin: at('_format_version'), message: `unsupported _format_version '${version}': expected "${FORMAT_VERSION}" (or "1.1"/"2.1", migrated on the fly)`})
    }
  }
  if (d._transform !== undefined && typeof d._transform !== 'boolean') problems.push({origin: at('_transform'), message: 'expected a boolean'})
  if (d._comment !== undefined && typeof d._comment !== 'string') problems.push({origin: at('_comment'), message: 'expected a string'})
  if (d._ignore !== undefined && !Array.isArray(d._ignore)) problems.push({origin: at('_ignore'), message: 'expected an array'})
  const selectTags = readSelectTags(d._info, problems, at('_info'))
  for (const key of Object.keys(d)) {
    if (!META.has(key) && !getSchema(key)) problems.push({origin: at(key), message: `unknown field '${key}'`, kong: {message: 'unknown field', keys: [key]}, tolerable: true})
    else if (getSchema(key) && !Array.isArray(d[key]) && d[key] !== null) problems.push({origin: at(key), message: 'expected an array'})
  }
  return {legacy, selectTags}
}

function readSelectTags(info: unknown, problems: ConfigProblem[], origin: ConfigProblem['origin']): string[] {
  if (info === undefined || info === null) return []
  const tags = (info as {select_tags?: unknown}).select_tags
  if (tags === undefined) return []
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')) {
    problems.push({origin, field: 'select_tags', message: 'expected an array of strings'})
    return []
  }
  return tags as string[]
}

/**
 * `_transform: false` (Kong's, default true): the file's secrets are already transformed
 * (basic-auth passwords already hashed, as a dump holds them) and are stored as written.
 */
export const transformsSecrets = (file: ParsedFile): boolean => file.data._transform !== false

// decK's file convert: a path with characters outside this set is a regex in 1.x/2.x.
const PLAIN_PATH = /^[A-Za-z0-9._~/%-]*$/

/** 1.1/2.1 → 3.0 for one route: regex-like paths get `~`. */
export function migrateRoute(route: Record<string, unknown>): void {
  if (!Array.isArray(route.paths)) return
  route.paths = route.paths.map((p) => (typeof p === 'string' && !p.startsWith('~') && !PLAIN_PATH.test(p) ? `~${p}` : p))
}
