#!/usr/bin/env node
// Fails when the import graph of src/ has a cycle, or when a file imports across a layer
// it may not cross. The graph is the TypeScript compiler's own module resolution over
// every import and export (type-only ones included: a cycle of types still says a shared
// type belongs in a third place), so it sees exactly what tsc sees.
// Usage: node scripts/check-cycles.js   (npm run check:cycles; npm test runs it first)
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join, relative, sep} from 'node:path'
import ts from 'typescript'

const root = new URL('..', import.meta.url).pathname
const src = join(root, 'src')

/**
 * Cycles that are known and owned by a pending move, each listed by its files (relative
 * to src/), with a comment saying which move removes it. Every other cycle fails the
 * check, and so does an entry here that no longer matches a cycle (so the list only
 * shrinks). Empty: src/ has no cycle.
 */
const ALLOWED_CYCLES = []

/**
 * Which files may import which: [files the rule is about, what they may not import, why].
 * Paths are relative to src/, with `/` separators.
 */
const LAYER_RULES = [
  [
    (f) => f.startsWith('runtime/pdk/'),
    (to) => to.startsWith('runtime/proxy/') || to.startsWith('runtime/plugins/') || to.startsWith('runtime/admin/'),
    'the PDK is below the proxy, the plugins and the Admin API',
  ],
  [
    (f) => /^runtime\/plugins\/[^/]+\//.test(f),
    (to, f) => !to.startsWith('runtime/pdk/') && !to.startsWith(f.split('/').slice(0, 3).join('/') + '/'),
    'a plugin imports only the PDK and its own folder',
  ],
  [
    (f) => /^runtime\/plugins\/[^/]+$/.test(f),
    (to) => to.startsWith('runtime/proxy/') || to.startsWith('runtime/admin/'),
    'the plugin registry is below the proxy and the Admin API',
  ],
  [
    (f) => !f.startsWith('runtime/plugins/'),
    (to) => /^runtime\/plugins\/[^/]+\//.test(to),
    'the proxy and the rest of the runtime reach plugins through the registry (plugins/registry.ts), never one by name',
  ],
]

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? walk(p) : /\.tsx?$/.test(name) && !name.endsWith('.d.ts') ? [p] : []
  })
}

const options = ts.parseJsonConfigFileContent(ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile).config, ts.sys, root).options
const files = walk(src)
const rel = (f) => relative(src, f).split(sep).join('/')

/** file → the files of src/ it imports (packages and Node built-ins left out). */
const graph = new Map()
for (const file of files) {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
  const deps = new Set()
  for (const {fileName} of info.importedFiles) {
    const resolved = ts.resolveModuleName(fileName, file, options, ts.sys).resolvedModule
    if (!resolved || resolved.isExternalLibraryImport) continue
    const target = resolved.resolvedFileName
    if (target.startsWith(src + sep) && !target.endsWith('.d.ts')) deps.add(target)
  }
  graph.set(file, [...deps])
}

/** Tarjan's strongly connected components: every component of more than one file is a cycle. */
function components() {
  let index = 0
  const idx = new Map()
  const low = new Map()
  const stack = []
  const on = new Set()
  const out = []
  const visit = (v) => {
    idx.set(v, index)
    low.set(v, index++)
    stack.push(v)
    on.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v), low.get(w)))
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)))
    }
    if (low.get(v) === idx.get(v)) {
      const comp = []
      let w
      do {
        w = stack.pop()
        on.delete(w)
        comp.push(w)
      } while (w !== v)
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(comp.map(rel).sort())
    }
  }
  for (const v of graph.keys()) if (!idx.has(v)) visit(v)
  return out
}

/** One shortest cycle through `from` inside `comp`, as a path a reader can follow. */
function pathThrough(comp, from) {
  const inComp = new Set(comp)
  const prev = new Map([[from, null]])
  const queue = [from]
  while (queue.length) {
    const v = queue.shift()
    for (const w of (graph.get(join(src, v)) ?? []).map(rel)) {
      if (!inComp.has(w)) continue
      if (w === from) {
        const path = [v]
        for (let p = prev.get(v); p; p = prev.get(p)) path.unshift(p)
        return [...path, from]
      }
      if (!prev.has(w)) {
        prev.set(w, v)
        queue.push(w)
      }
    }
  }
  return [from]
}

const problems = []
const found = components()
const key = (list) => list.join('\n')
const allowed = new Set(ALLOWED_CYCLES.map((c) => key([...c].sort())))
const seen = new Set()
for (const comp of found) {
  if (allowed.has(key(comp))) {
    seen.add(key(comp))
    continue
  }
  problems.push(`import cycle between ${comp.length} files:\n    ${pathThrough(comp, comp[0]).join('\n  → ')}\n  all of them: ${comp.join(', ')}`)
}
for (const c of ALLOWED_CYCLES) {
  if (!seen.has(key([...c].sort()))) problems.push(`the allowed cycle ${c.join(', ')} is gone (or changed): update ALLOWED_CYCLES in scripts/check-cycles.js`)
}
for (const [file, deps] of graph) {
  const f = rel(file)
  for (const [applies, forbidden, why] of LAYER_RULES) {
    if (!applies(f)) continue
    for (const d of deps.map(rel)) if (forbidden(d, f)) problems.push(`${f} imports ${d}: ${why}`)
  }
}

if (problems.length) {
  console.error(`check-cycles: ${problems.length} problem(s) in the import graph of src/ (${graph.size} files):\n`)
  for (const p of problems) console.error(`  ${p}\n`)
  process.exit(1)
}
console.log(`check-cycles: no import cycle and no layer crossing in src/ (${graph.size} files${ALLOWED_CYCLES.length ? `, ${ALLOWED_CYCLES.length} known cycle(s) allowed` : ''})`)
