/**
 * Reading declarative files: YAML or JSON (JSON is YAML), `-` for stdin, with
 * `${{ env "DECK_NAME" }}` substituted first (only DECK_-prefixed names, as decK does).
 * Each parsed file keeps its YAML document so problems can name a line.
 */
import {readFile} from 'node:fs/promises'
import {CORE_SCHEMA, load} from 'js-yaml'
import {LineCounter, parseDocument, type Document} from 'yaml'
import {ConfigInvalid, type ConfigProblem} from './errors.js'
import {checkFileSize, DEFAULT_INPUT_LIMITS, InputTooLarge, readLimited, type InputLimits} from './limits.js'

export interface ParsedFile {
  name: string
  data: Record<string, unknown>
  /** 1-based line of the node at `path` (keys and indexes), when it exists. */
  lineOf(path: ReadonlyArray<string | number>): number | undefined
  /** Values substituted from the environment: masked in diff output. */
  secrets: string[]
}

/** An anchor (`&name`) where YAML allows one; may also match inside a quoted string, which only costs speed. */
const ANCHOR_RE = /(?:^|[\s[{,:])&[^\s,[\]{}]/m
const ENV_RE = /\$\{\{\s*env\s+"([^"]*)"\s*\}\}/g

export function substituteEnv(text: string, env: NodeJS.ProcessEnv, problems: ConfigProblem[], file: string): {text: string; secrets: string[]} {
  const secrets: string[] = []
  const out = text.replace(ENV_RE, (_m, name: string) => {
    if (!name.startsWith('DECK_')) {
      problems.push({origin: {file, path: '$'}, message: `environment variable '${name}' cannot be used: only names starting with DECK_ are read`})
      return ''
    }
    const v = env[name]
    if (v === undefined) {
      problems.push({origin: {file, path: '$'}, message: `environment variable '${name}' is not set`})
      return ''
    }
    secrets.push(v)
    return v
  })
  return {text: out, secrets}
}

/**
 * Parses one file's text. Malformed YAML/JSON becomes problems with the line.
 *
 * Two parsers: js-yaml (YAML 1.2 core schema, as `yaml` reads it; JSON.parse for JSON) turns the text into
 * data about ten times faster and in a sixth of the memory; `yaml`'s Document, which
 * knows where every node is, is built only when a line is asked for (a problem to
 * report) or when js-yaml refuses the text (its messages and lines are the ones shown).
 * A text with anchors goes to `yaml` directly: it caps alias expansion (a few lines of
 * nested aliases can otherwise stand for billions of values), js-yaml does not.
 */
export function parseText(name: string, raw: string, env: NodeJS.ProcessEnv = process.env): ParsedFile {
  const problems: ConfigProblem[] = []
  const {text, secrets} = substituteEnv(raw, env, problems, name)
  let located: {doc: Document; lines: LineCounter} | undefined
  const locate = () => {
    if (located) return located
    const lines = new LineCounter()
    located = {doc: parseDocument(text, {lineCounter: lines, prettyErrors: false, uniqueKeys: true}), lines}
    return located
  }
  let data: unknown
  try {
    data = fastParse(text, name)
  } catch {
    const {doc, lines} = locate()
    for (const e of doc.errors) {
      problems.push({origin: {file: name, path: '$', line: lines.linePos(e.pos[0]).line}, message: `malformed file: ${e.message.split('\n')[0]}`})
    }
    data = doc.errors.length ? undefined : doc.toJS()
  }
  if (problems.length) throw new ConfigInvalid(problems)
  data ??= {}
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigInvalid([{origin: {file: name, path: '$', line: 1}, message: 'expected a map at the top of the file', kong: {message: 'failed parsing declarative configuration: expected an object'}}])
  }
  const lineOf = (path: ReadonlyArray<string | number>) => {
    const {doc, lines} = locate()
    const node = doc.getIn(path, true) as {range?: [number, number, number]} | undefined
    return node?.range ? lines.linePos(node.range[0]).line : undefined
  }
  return {name, data: data as Record<string, unknown>, lineOf, secrets}
}

/**
 * JSON (a text that is a JSON object) with JSON.parse, several times faster again than
 * js-yaml; a repeated key keeps the last value, as Kong's JSON parser does. Anything else
 * with js-yaml. @throws when the text is not read that way (the caller falls back to `yaml`)
 */
function fastParse(text: string, name: string): unknown {
  if (/^\s*\{/.test(text)) {
    try {
      return JSON.parse(text)
    } catch {
      // YAML flow mappings (`{a: 1}`) start the same way.
    }
  }
  if (ANCHOR_RE.test(text)) throw new Error('anchors: read with yaml')
  return load(text, {schema: CORE_SCHEMA, filename: name})
}

/**
 * Reads every file (`-` = stdin) and parses it. Problems of all files are reported together.
 * @throws InputTooLarge for a file over `limits.maxFileSize`, before it is read
 */
export async function readFiles(
  files: readonly string[],
  stdin: () => AsyncIterable<Buffer | string> = () => process.stdin,
  limits: Pick<InputLimits, 'maxFileSize'> = DEFAULT_INPUT_LIMITS,
): Promise<ParsedFile[]> {
  const out: ParsedFile[] = []
  const problems: ConfigProblem[] = []
  for (const f of files) {
    try {
      out.push(parseText(f === '-' ? '<stdin>' : f, await readSource(f, stdin, limits.maxFileSize)))
    } catch (err) {
      if (err instanceof InputTooLarge) throw err
      if (err instanceof ConfigInvalid) problems.push(...err.problems)
      else problems.push({origin: {file: f, path: '$'}, message: `cannot read the file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`})
    }
  }
  if (problems.length) throw new ConfigInvalid(problems)
  return out
}

/** One file's text, its size checked first (stdin: while it is read). @throws InputTooLarge */
async function readSource(file: string, stdin: () => AsyncIterable<Buffer | string>, maxFileSize: number): Promise<string> {
  if (file === '-') return readLimited(stdin(), maxFileSize, '<stdin>')
  await checkFileSize(file, maxFileSize)
  return readFile(file, 'utf8')
}
