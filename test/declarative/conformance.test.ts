/**
 * Walks the conformance corpus (real files from Kong's test suites, beside the project
 * in some workspaces) and checks every file as its README says: validate, apply on an
 * empty gateway, idempotent re-apply, dump with defaults, pairs a→b keeping ids, 18a vs
 * 18b, 19 with and without defaults. Skipped, with the folder it looked for, when the
 * corpus is absent; test/declarative/fixtures.test.ts runs the same checks over the project's
 * own fixtures.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {parse, stringify} from 'yaml'
import {fetchState} from '../../src/declarative/admin-client.js'
import {apply} from '../../src/services/apply.js'
import {conformanceDir, skipWithoutConformance} from '../helpers/conformance.js'
import {corpusFiles} from './corpus.js'
import {applyOpts, dumpWithoutIds, fileChecks, useBed, withAdmin} from './declarative-suite.js'
import {stripDefaults} from './strip-defaults.js'

const corpus = conformanceDir('declarative')

describe('conformance corpus', () => {
  if (!corpus) {
    it('every file: validate, apply, re-apply no-op, dump with defaults', {skip: skipWithoutConformance('declarative')}, () => {})
    return
  }
  const files = corpusFiles(corpus)
  const bed = useBed()

  it('holds at least the 20 files of its README', () => assert.ok(files.length >= 20, `${files.length} files`))

  fileChecks(bed, files)

  it('18a (format 1.1) stores the same paths as 18b', async () => {
    const paths = async (name: string) => {
      let out: unknown
      await withAdmin(bed, async (admin) => {
        await apply(applyOpts(bed, admin, files.find((f) => f.name.startsWith(name))!.path))
        out = (await fetchState(admin.url)).routes.map((r) => r.paths)
      })
      return out
    }
    assert.deepEqual(await paths('18a'), await paths('18b'))
    assert.deepEqual(await paths('18b'), [['~/status/\\d+', '~/code/\\d+']])
  })

  it('19: the file with and without the defaults written out yields the same dump', async () => {
    const full = files.find((f) => f.name.startsWith('19'))!.path
    const lean = join(bed.dir, '19-lean.yaml')
    const leanData = stripDefaults(parse(readFileSync(full, 'utf8')))
    await writeFile(lean, stringify(leanData))
    assert.notEqual(stringify(leanData), stringify(parse(readFileSync(full, 'utf8'))), 'nothing was stripped')
    assert.deepEqual(await dumpWithoutIds(bed, lean), await dumpWithoutIds(bed, full))
  })
})
