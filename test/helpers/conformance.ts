/**
 * The conformance corpus: real files from Kong's own test suites, kept in a folder
 * beside the project (`<project>/../shared/conformance/`), which a standalone clone does
 * not have. Tests that read it find it here and are skipped, with this reason, when it
 * is absent; the project's own fixtures (`test/fixtures/`) cover the same behaviours.
 */
import {existsSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {ROOT} from './kctl.js'

/** Where a corpus folder (`declarative`, …) is looked for. */
export const conformancePath = (sub: string): string => resolve(ROOT, '..', 'shared', 'conformance', sub)

/** The corpus folder, or undefined when this checkout has none beside it. */
export function conformanceDir(sub: string): string | undefined {
  const dir = conformancePath(sub)
  return existsSync(dir) ? dir : undefined
}

/** `node:test`'s `skip` option for tests of this corpus: false when present, else the reason. */
export function skipWithoutConformance(sub: string): false | string {
  return conformanceDir(sub) ? false : `no conformance corpus at ${conformancePath(sub)} (a folder beside the project, absent from a standalone clone); test/fixtures/${sub} covers the same behaviours`
}

/** The project's own fixtures (`test/fixtures/<sub>`), in the source tree. */
export const fixturesDir = (sub: string): string => join(ROOT, 'test', 'fixtures', sub)
