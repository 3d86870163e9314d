/**
 * Walks the conformance corpus and checks every file as its README says: validate,
 * apply on an empty gateway, idempotent re-apply, dump with defaults (and dump applied
 * back is a no-op), pairs a→b keeping ids, 18a vs 18b, 19 with and without defaults.
 * Files using plugins the runtime does not bundle yet must fail with exactly Kong's
 * "not enabled" message for those plugins; they get the full checks once bundled.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {stringify, parse} from 'yaml'
import {readFileSync} from 'node:fs'
import {fetchState} from '../../src/config/admin-client.js'
import {buildTarget, loadFiles} from '../../src/config/plan.js'
import {canonical} from '../../src/runtime/declarative/compare.js'
import {findPlugin, notEnabledMessage} from '../../src/runtime/plugins/registry.js'
import {getSchema} from '../../src/runtime/schema/registry.js'
import {apply} from '../../src/services/apply.js'
import {dump} from '../../src/services/dump.js'
import {validate} from '../../src/services/validate.js'
import {startTestAdmin, type TestAdmin} from '../helpers/gateway.js'
import {startTestPostgres, type TestPostgres} from '../helpers/postgres.js'
import {corpusFiles, pairs, pluginNames, type CorpusFile} from './corpus.js'
import {stripDefaults} from './strip-defaults.js'

const files = corpusFiles()
let pg: TestPostgres
let dir: string
before(async () => {
  pg = await startTestPostgres()
  dir = await mkdtemp(join(tmpdir(), 'kctl-conf-'))
})
after(async () => {
  await pg?.stop()
  await rm(dir, {recursive: true, force: true})
})

const opts = (admin: TestAdmin, file: string) => ({files: [file], adminUrl: admin.url, stateRoot: dir, yes: true})
const missing = (f: CorpusFile) => pluginNames(f.path).filter((n) => !findPlugin(n))
const counts = (s: Awaited<ReturnType<typeof apply>>['result']['summary']) => `${s.created}/${s.updated}/${s.deleted}`

async function withAdmin(fn: (admin: TestAdmin) => Promise<void>): Promise<void> {
  const admin = await startTestAdmin(pg)
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

describe('conformance corpus', () => {
  it('has a README row saying "apply" for every file', () => {
    assert.ok(files.length >= 20)
    for (const f of files) assert.match(f.expected, /apply/, `${f.name}: no expectation in README`)
  })

  for (const f of files) {
    it(`${f.name}: validate, apply, re-apply no-op, dump with defaults`, async () => {
      const absent = missing(f)
      await withAdmin(async (admin) => {
        if (absent.length) {
          await assert.rejects(validate({files: [f.path]}), (e) => assertOnlyPluginErrors(e, absent))
          await assert.rejects(apply(opts(admin, f.path)), (e) => assertOnlyPluginErrors(e, absent))
          const state = await fetchState(admin.url)
          assert.equal(Object.values(state).flat().length, 0, 'an invalid file changed the gateway')
          return
        }
        await validate({files: [f.path]})
        const first = await apply(opts(admin, f.path))
        const target = buildTarget(await loadFiles([f.path]))
        const total = Object.values(target.state).flat().length
        assert.equal(counts(first.result.summary), `${total}/0/0`)
        assert.equal(counts((await apply(opts(admin, f.path))).result.summary), '0/0/0', 'second apply changed something')
        await checkDump(admin, f)
      })
    })
  }

  for (const [a, b] of pairs(files)) {
    it(`${a.name} then ${b.name}: ids kept, gateway equals b`, async () => {
      if (missing(a).length || missing(b).length) {
        assert.deepEqual([...missing(a), ...missing(b)].length > 0, true) // covered by the per-file checks above
        return
      }
      await withAdmin(async (admin) => {
        await apply(opts(admin, a.path))
        const before = await fetchState(admin.url)
        const second = await apply(opts(admin, b.path))
        if (/no-op/.test(b.expected)) assert.equal(counts(second.result.summary), '0/0/0', `${b.name} after ${a.name} is not a no-op`)
        assert.equal(counts((await apply(opts(admin, b.path))).result.summary), '0/0/0', 'gateway differs from b')
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

  it('18a (format 1.1) stores the same paths as 18b', async () => {
    const paths = async (name: string) => {
      let out: unknown
      await withAdmin(async (admin) => {
        await apply(opts(admin, files.find((f) => f.name.startsWith(name))!.path))
        out = (await fetchState(admin.url)).routes.map((r) => r.paths)
      })
      return out
    }
    assert.deepEqual(await paths('18a'), await paths('18b'))
    assert.deepEqual(await paths('18b'), [['~/status/\\d+', '~/code/\\d+']])
  })

  it('19: the file with and without the defaults written out yields the same dump', async () => {
    const full = files.find((f) => f.name.startsWith('19'))!.path
    const lean = join(dir, '19-lean.yaml')
    const leanData = stripDefaults(parse(readFileSync(full, 'utf8')))
    await writeFile(lean, stringify(leanData))
    assert.notEqual(stringify(leanData), stringify(parse(readFileSync(full, 'utf8'))), 'nothing was stripped')
    assert.deepEqual(await dumpWithoutIds(lean), await dumpWithoutIds(full))
  })
})

async function dumpWithoutIds(file: string): Promise<unknown> {
  let out: unknown
  await withAdmin(async (admin) => {
    await apply(opts(admin, file))
    const state = await fetchState(admin.url)
    out = Object.fromEntries(Object.entries(state).map(([k, l]) => [k, l.map((e) => ({...canonical(getSchema(k)!, e), id: undefined, service: undefined}))]))
  })
  return out
}

/** Every entity of the file is in the dump, with every default filled; the dump applies back as a no-op. */
async function checkDump(admin: TestAdmin, f: CorpusFile): Promise<void> {
  const out = join(dir, `dump-${f.name}`)
  await dump({adminUrl: admin.url, stateRoot: dir, format: 'yaml', output: out})
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
      assert.deepEqual(canonical(schema, row), canonical(schema, e))
    }
  }
  assert.equal(counts((await apply(opts(admin, out))).result.summary), '0/0/0', 'applying the dump back changed something')
}
