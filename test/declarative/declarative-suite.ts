/**
 * The checks every declarative file of a folder gets (the conformance corpus and the
 * project's fixtures alike), as the corpus README states them: validate, apply on an
 * empty gateway, idempotent re-apply, dump with defaults (and the dump applied back is a
 * no-op), pairs a→b keeping ids. A file without `_format_version` must be refused (its
 * entities are checked with "3.0" added). Files using plugins the runtime does not bundle yet
 * must fail with exactly Kong's "not enabled" message for those plugins.
 */
import {after, before, it} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parse} from 'yaml'
import {fetchState} from '../../src/declarative/admin-client.js'
import {buildTarget, loadFiles} from '../../src/declarative/plan.js'
import {asStored, canonical} from '../../src/runtime/declarative/compare.js'
import {findPlugin, notEnabledMessage} from '../../src/runtime/plugins/registry.js'
import {getSchema} from '../../src/runtime/schema/registry.js'
import {apply} from '../../src/services/apply.js'
import {dump} from '../../src/services/dump.js'
import {validate} from '../../src/services/validate.js'
import {startTestAdmin, type TestAdmin} from '../helpers/gateway.js'
import {startTestPostgres, type TestPostgres} from '../helpers/postgres.js'
import {pairs, pluginNames, type CorpusFile} from './corpus.js'

/** A Postgres and a scratch folder for one suite; filled by its `before` hook. */
export interface Bed {
  pg: TestPostgres
  dir: string
}

/** Registers the hooks that start and remove a Bed in the current suite. */
export function useBed(): Bed {
  const bed = {} as Bed
  before(async () => {
    bed.pg = await startTestPostgres()
    bed.dir = await mkdtemp(join(tmpdir(), 'kctl-conf-'))
  })
  after(async () => {
    await bed.pg?.stop()
    if (bed.dir) await rm(bed.dir, {recursive: true, force: true})
  })
  return bed
}

export const applyOpts = (bed: Bed, admin: TestAdmin, file: string) => ({files: [file], adminUrl: admin.url, stateRoot: bed.dir, yes: true})
const missing = (f: CorpusFile) => pluginNames(f.path).filter((n) => !findPlugin(n))
export const counts = (s: Awaited<ReturnType<typeof apply>>['result']['summary']) => `${s.created}/${s.updated}/${s.deleted}`

/** Runs `fn` against a fresh Admin API (its own database), closed afterwards. */
export async function withAdmin(bed: Bed, fn: (admin: TestAdmin) => Promise<void>): Promise<void> {
  const admin = await startTestAdmin(bed.pg)
  try {
    await fn(admin)
  } finally {
    await admin.close()
  }
}

/** The error must list each missing plugin with Kong's message, and nothing else. */
function assertOnlyPluginErrors(err: unknown, names: string[]): true {
  const lines = (err as Error).message.split('\n').slice(1).map((l) => l.trim())
  assert.ok(lines.length > 0, (err as Error).message)
  for (const l of lines) assert.ok(names.some((n) => l.endsWith(`name: ${notEnabledMessage(n)}`)), `unexpected error: ${l}`)
  for (const n of names) assert.ok(lines.some((l) => l.includes(notEnabledMessage(n))), `no error for plugin ${n}`)
  return true
}

/** Registers the per-file and per-pair checks for `files` in the current suite. */
export function fileChecks(bed: Bed, files: readonly CorpusFile[]): void {
  it('has a README row saying "apply" for every file', () => {
    assert.ok(files.length > 0, 'no files')
    for (const f of files) assert.match(f.expected, /apply/, `${f.name}: no expectation in README`)
  })

  for (const file of files) {
    it(`${file.name}: validate, apply, re-apply no-op, dump with defaults`, async () => {
      const absent = missing(file)
      await withAdmin(bed, async (admin) => {
        const f = await withFormatVersion(bed, admin, file)
        if (absent.length) {
          await assert.rejects(validate({files: [f.path]}), (e) => assertOnlyPluginErrors(e, absent))
          await assert.rejects(apply(applyOpts(bed, admin, f.path)), (e) => assertOnlyPluginErrors(e, absent))
          const state = await fetchState(admin.url)
          assert.equal(Object.values(state).flat().length, 0, 'an invalid file changed the gateway')
          return
        }
        await validate({files: [f.path]})
        const first = await apply(applyOpts(bed, admin, f.path))
        const target = buildTarget(await loadFiles([f.path]))
        const total = Object.values(target.state).flat().length
        assert.equal(counts(first.result.summary), `${total}/0/0`)
        assert.equal(counts((await apply(applyOpts(bed, admin, f.path))).result.summary), '0/0/0', 'second apply changed something')
        await checkDump(bed, admin, f)
      })
    })
  }

  for (const [a, b] of pairs(files)) {
    it(`${a.name} then ${b.name}: ids kept, gateway equals b`, async (t) => {
      if (missing(a).length || missing(b).length) return t.skip(`plugins not bundled: ${[...missing(a), ...missing(b)].join(', ')} (the per-file checks cover their errors)`)
      await withAdmin(bed, async (admin) => {
        await apply(applyOpts(bed, admin, a.path))
        const before = await fetchState(admin.url)
        const second = await apply(applyOpts(bed, admin, b.path))
        if (/no-op/.test(b.expected)) assert.equal(counts(second.result.summary), '0/0/0', `${b.name} after ${a.name} is not a no-op`)
        assert.equal(counts((await apply(applyOpts(bed, admin, b.path))).result.summary), '0/0/0', 'gateway differs from b')
        const afterState = await fetchState(admin.url)
        for (const [kind, list] of Object.entries(before)) {
          const key = getSchema(kind)!.endpoint_key
          for (const old of list) {
            const same = afterState[kind].find((e) => key && old[key] != null && e[key] === old[key])
            if (same) assert.equal(same.id, old.id, `${kind} ${old[key!]} got a new id`)
          }
        }
        for (const e of Object.values(parse(readFileSync(b.path, 'utf8'))).flat() as any[]) {
          if (e?.id) assert.ok(Object.values(afterState).flat().some((x) => x.id === e.id), `id ${e.id} of ${b.name} not kept`)
        }
      })
    })
  }
}

/**
 * A file without `_format_version` is refused, as decK refuses it for Kong 3.x, and
 * changes nothing; its entities are then checked from a copy with "3.0" added.
 */
async function withFormatVersion(bed: Bed, admin: TestAdmin, f: CorpusFile): Promise<CorpusFile> {
  const text = readFileSync(f.path, 'utf8')
  if ((parse(text) ?? {})._format_version !== undefined) return f
  const refused = (e: unknown) => {
    assert.match((e as Error).message, /_format_version: required field missing: add _format_version: "3\.0"/)
    return true
  }
  await assert.rejects(validate({files: [f.path]}), refused)
  await assert.rejects(apply(applyOpts(bed, admin, f.path)), refused)
  assert.equal(Object.values(await fetchState(admin.url)).flat().length, 0, 'a file without _format_version changed the gateway')
  const copy = join(bed.dir, `with-version-${f.name}`)
  await writeFile(copy, `_format_version: "3.0"\n${text}`)
  return {...f, path: copy}
}

/** Applies `file` to a fresh gateway and reads it back, without ids and references (ids may be random). */
export async function dumpWithoutIds(bed: Bed, file: string): Promise<unknown> {
  let out: unknown
  await withAdmin(bed, async (admin) => {
    await apply(applyOpts(bed, admin, file))
    const state = await fetchState(admin.url)
    // References hold the parents' ids: random too.
    const refs = (k: string) => Object.fromEntries(getSchema(k)!.fields.filter(([, f]) => f.type === 'foreign').map(([n]) => [n, undefined]))
    out = Object.fromEntries(Object.entries(state).map(([k, l]) => [k, l.map((e) => ({...canonical(getSchema(k)!, e), id: undefined, ...refs(k)}))]))
  })
  return out
}

/** Every entity of the file is in the dump, with every default filled; the dump applies back as a no-op. */
async function checkDump(bed: Bed, admin: TestAdmin, f: CorpusFile): Promise<void> {
  const out = join(bed.dir, `dump-${f.name}`)
  await dump({adminUrl: admin.url, stateRoot: bed.dir, format: 'yaml', output: out})
  // The dump nests (routes in services…): read it back the way apply does, links as references.
  const dumped = (await loadFiles([out])).raw.entries.map((en) => ({
    kind: en.kind,
    row: {...en.entity, ...Object.fromEntries(Object.entries(en.links).map(([field, parent]) => [field, {id: parent.entity.id}]))},
  }))
  const target = buildTarget(await loadFiles([f.path]), await fetchState(admin.url))
  for (const [kind, list] of Object.entries(target.state)) {
    const schema = getSchema(kind)!
    for (const e of list) {
      const row = dumped.find((x) => x.kind === kind && x.row.id === e.id)?.row as Record<string, any>
      assert.ok(row, `${f.name}: ${kind} ${e.id} missing from the dump`)
      for (const [name, field] of schema.fields) {
        if (field.default !== undefined && field.default !== null) assert.ok(name in row, `${f.name}: ${kind}.${name} default not in the dump`)
      }
      // As stored: a basic-auth password in the file is its hash in the dump.
      assert.deepEqual(canonical(schema, row), canonical(schema, target.untransformed.has(e.id) ? e : asStored(schema, e, row)))
    }
  }
  assert.equal(counts((await apply(applyOpts(bed, admin, out))).result.summary), '0/0/0', 'applying the dump back changed something')
}
