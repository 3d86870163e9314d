#!/usr/bin/env node
// Counts the explicit `any` in src/ (every `any` keyword the TypeScript parser finds:
// `: any`, `as any`, `any[]`, `<any>`, `Record<string, any>`…) and fails when there are
// more than the ceiling below. Types come from the schemas (src/runtime/schema); `any` is
// only for values nobody has validated yet, and `unknown` is better there too.
// Lower the ceiling when you remove some; never raise it.
// Usage: node scripts/check-any.js [--list]
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join, relative} from 'node:path'
import ts from 'typescript'

export const CEILING = Number(readFileSync(new URL('./any-ceiling.txt', import.meta.url), 'utf8').trim())

const root = new URL('..', import.meta.url).pathname

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? walk(p) : /\.tsx?$/.test(p) && !p.endsWith('.d.ts') ? [p] : []
  })
}

/** Every explicit `any` in `file`: [line, column] pairs. */
function anys(file) {
  const text = readFileSync(file, 'utf8')
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS)
  const out = []
  const visit = (node) => {
    if (node.kind === ts.SyntaxKind.AnyKeyword) {
      const {line, character} = source.getLineAndCharacterOfPosition(node.getStart(source))
      out.push([line + 1, character + 1])
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return out
}

const found = walk(join(root, 'src')).flatMap((f) => anys(f).map(([l, c]) => `${relative(root, f)}:${l}:${c}`))
const list = process.argv.includes('--list')
if (found.length > CEILING || list) for (const where of found) console.error(where)
if (found.length > CEILING) {
  console.error(`\n${found.length} explicit \`any\` in src/, above the ceiling of ${CEILING} (scripts/any-ceiling.txt).`)
  console.error('Use the entity types from src/runtime/schema/registry.ts (Entity<K>, EntitySet), or `unknown` for unvalidated input.')
  process.exit(1)
}
console.error(`explicit any in src/: ${found.length} (ceiling ${CEILING})${found.length < CEILING ? ': lower the ceiling in scripts/any-ceiling.txt to ' + found.length : ''}`)
