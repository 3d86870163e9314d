/**
 * A folder of declarative files and what its README table expects of each file: the
 * conformance corpus (see test/helpers/conformance.ts) or the project's own fixtures
 * (test/fixtures/declarative), which share the layout. New files are picked up from the
 * folder; each must have a row in the table.
 */
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {parse} from 'yaml'

export interface CorpusFile {
  name: string
  path: string
  /** The README row's "expected" cell. */
  expected: string
}

export function corpusFiles(dir: string): CorpusFile[] {
  const readme = readFileSync(join(dir, 'README.md'), 'utf8')
  const rows = readme.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| file') && !l.startsWith('|---'))
  return readdirSync(dir)
    .filter((n) => /\.(ya?ml|json)$/.test(n))
    .sort()
    .map((name) => {
      const num = name.slice(0, 2)
      const cells = rows.map((r) => r.split('|').map((c) => c.trim())).find((c) => c[1] === name || (c[1].startsWith(num) && /^\d\d[a-z]\//.test(c[1])))
      return {name, path: join(dir, name), expected: cells?.[4] ?? ''}
    })
}

/** `09a` + `09b` → pairs, in order. */
export function pairs(files: readonly CorpusFile[]): Array<[CorpusFile, CorpusFile]> {
  const out: Array<[CorpusFile, CorpusFile]> = []
  for (const a of files.filter((f) => /^\d\da-/.test(f.name))) {
    const b = files.find((f) => f.name.startsWith(`${a.name.slice(0, 2)}b-`))
    if (b) out.push([a, b])
  }
  return out
}

/** Every plugin name used in a file, nested or not. */
export function pluginNames(path: string): string[] {
  const names = new Set<string>()
  const walk = (v: unknown, key?: string) => {
    if (Array.isArray(v)) v.forEach((x) => (key === 'plugins' && x && typeof x === 'object' && typeof (x as any).name === 'string' ? names.add((x as any).name) : undefined, walk(x)))
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k)
  }
  walk(parse(readFileSync(path, 'utf8')))
  return [...names].sort()
}
