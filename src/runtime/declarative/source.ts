/**
 * Reading declarative files: YAML or JSON (JSON is YAML), `-` for stdin, with
 * `${{ env "DECK_NAME" }}` substituted first (only DECK_-prefixed names, as decK does).
 * Each parsed file keeps its YAML document so problems can name a line.
 */
import {readFile} from 'node:fs/promises'
import {LineCounter, parseDocument, type Document} from 'yaml'
import {ConfigInvalid, type ConfigProblem} from './errors.js'

export interface ParsedFile {
  name: string
  data: Record<string, unknown>
  /** 1-based line of the node at `path` (keys and indexes), when it exists. */
  lineOf(path: ReadonlyArray<string | number>): number | undefined
  /** Values substituted from the environment: masked in diff output. */
  secrets: string[]
}

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

/** Parses one file's text. Malformed YAML/JSON becomes problems with the line. */
export function parseText(name: string, raw: string, env: NodeJS.ProcessEnv = process.env): ParsedFile {
  const problems: ConfigProblem[] = []
  const {text, secrets} = substituteEnv(raw, env, problems, name)
  const lines = new LineCounter()
  const doc: Document = parseDocument(text, {lineCounter: lines, prettyErrors: false, uniqueKeys: true})
  for (const e of doc.errors) {
    problems.push({origin: {file: name, path: '$', line: lines.linePos(e.pos[0]).line}, message: `malformed file: ${e.message.split('\n')[0]}`})
  }
  if (problems.length) throw new ConfigInvalid(problems)
  const data = doc.toJS() ?? {}
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigInvalid([{origin: {file: name, path: '$', line: 1}, message: 'expected a map at the top of the file'}])
  }
  const lineOf = (path: ReadonlyArray<string | number>) => {
    const node = doc.getIn(path, true) as {range?: [number, number, number]} | undefined
    return node?.range ? lines.linePos(node.range[0]).line : undefined
  }
  return {name, data: data as Record<string, unknown>, lineOf, secrets}
}

/** Reads every file (`-` = stdin) and parses it. Problems of all files are reported together. */
export async function readFiles(files: readonly string[], stdin: () => Promise<string> = readStdin): Promise<ParsedFile[]> {
  const out: ParsedFile[] = []
  const problems: ConfigProblem[] = []
  for (const f of files) {
    try {
      const raw = f === '-' ? await stdin() : await readFile(f, 'utf8')
      out.push(parseText(f === '-' ? '<stdin>' : f, raw))
    } catch (err) {
      if (err instanceof ConfigInvalid) problems.push(...err.problems)
      else problems.push({origin: {file: f, path: '$'}, message: `cannot read the file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`})
    }
  }
  if (problems.length) throw new ConfigInvalid(problems)
  return out
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
