/**
 * Usage errors through the real `bin/run.js` without a cluster: an unknown command ("did
 * you mean"), flag or argument, a value a flag refuses: exit 2, one JSON error object with
 * --json or KCTL_JSON=1.
 */
import assert from 'node:assert/strict'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {scratchCli, type KctlRun} from '../helpers/kctl.js'

const scratch = scratchCli('kctl-usage-')
const kctl = scratch.kctl

/** stdout is exactly one JSON object `{"error": {code, message, hint}}`; returns it. */
function jsonError(r: KctlRun): {code: string; message: string; hint: string} {
  let body: any
  try {
    body = JSON.parse(r.stdout)
  } catch {
    throw new Error(`not one JSON object on stdout (exit ${r.code}):\n${r.stdout}\n--- stderr\n${r.stderr}`)
  }
  assert.deepEqual(Object.keys(body), ['error'], r.stdout)
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'hint', 'message'], r.stdout)
  return body.error
}

describe('usage errors exit 2', () => {
  it('an unknown command: did you mean, exit 2; with --json the JSON error', async () => {
    const r = await kctl(['statu'])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /`statu` is not a kctl command\. Did you mean `kctl status`\?/)
    assert.match(r.stderr, /Run `kctl help`/)
    assert.equal(r.stdout, '')
    const j = await kctl(['statu', '--json'])
    assert.equal(j.code, 2)
    assert.deepEqual(jsonError(j), {code: 'USAGE', message: '`statu` is not a kctl command. Did you mean `kctl status`?', hint: 'Run `kctl help` for the list of commands.'})
    const extra = await kctl(['nodes', 'extra', '--json'])
    assert.equal(extra.code, 2)
    assert.match(jsonError(extra).message, /Unexpected argument: extra/)
  })

  const cases: [string, string[], RegExp][] = [
    ['an unknown flag', ['status', '--bogus'], /Nonexistent flag: --bogus/],
    ['--interval below 0.2 (without --watch too)', ['status', '--interval', '0.1'], /--interval: must be a number of seconds, at least 0\.2/],
    ['an invalid --name', ['init', '--name', 'Bad Name', '--dry-run'], /--name: must be lowercase letters, digits and dashes/],
    ['an invalid --admin-url', ['dump', '--admin-url', 'localhost:8001'], /--admin-url: must be an http:\/\/ or https:\/\/ URL/],
    ['a missing required argument', ['validate'], /Missing 1 required arg/],
    ['a value out of a flag\'s options', ['init', '--mode', 'cloud', '--dry-run'], /Expected --mode=cloud to be one of: embedded, distributed, hybrid/],
    ['an integer flag given a word', ['init', '--nodes', 'many', '--dry-run'], /Expected an integer but received: many/],
  ]
  for (const [what, args, message] of cases) {
    it(`${what}: exit 2, one JSON error with --json, the message on stderr without`, async () => {
      const j = await kctl([...args, '--json'])
      assert.equal(j.code, 2, `${j.stdout}\n${j.stderr}`)
      const e = jsonError(j)
      assert.equal(e.code, 'USAGE')
      assert.match(e.message, message)
      assert.doesNotMatch(e.message, /See more help with --help/)
      assert.match(e.hint, /\S/)
      const plain = await kctl(args)
      assert.equal(plain.code, 2, plain.stderr)
      assert.match(plain.stderr, message)
      assert.equal(plain.stdout, '')
    })
  }

  it('KCTL_JSON=1 works as --json: results and errors as JSON', async () => {
    const file = join(scratch.dir, 'kong.yaml')
    await writeFile(file, '_format_version: "3.0"\nservices:\n- name: s1\n  url: http://127.0.0.1:9\n')
    const ok = await kctl(['validate', file], {KCTL_JSON: '1'})
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(JSON.parse(ok.stdout).valid, true)
    const missing = await kctl(['nodes'], {KCTL_JSON: '1'})
    assert.equal(missing.code, 1)
    assert.equal(jsonError(missing).code, 'SPEC_NOT_FOUND')
    const usage = await kctl(['status', '--bogus'], {KCTL_JSON: 'true'})
    assert.equal(usage.code, 2)
    assert.equal(jsonError(usage).code, 'USAGE')
    const off = await kctl(['validate', file], {KCTL_JSON: '0'})
    assert.match(off.stdout, /^configuration is valid/)
  })
})
