/**
 * Progress of long work, through the real CLI and a real embedded cluster: without a
 * terminal (CI set, pipes) one plain line per phase on stderr; on a terminal (tmux) a
 * spinner per phase that ends with the time the phase took.
 */
import assert from 'node:assert/strict'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {createSandbox, ROOT, type Sandbox} from '../helpers/kctl.js'
import {ensureTmux, startTmux} from '../status/tmux.js'

describe('progress', () => {
  let sb: Sandbox
  before(async () => {
    sb = await createSandbox()
    await sb.writeSpec()
  })
  after(async () => {
    await sb?.cleanup()
  })

  it('without a terminal: init, start and apply print one plain line per phase, no escape codes', async () => {
    const init = await sb.kctl('init')
    assert.equal(init.code, 0, init.stderr)
    assert.match(
      init.stderr,
      /^▸ Preflight: ports and runtime\n▸ Database\n {2}starting Postgres on 127\.0\.0\.1:\d+\n {2}created database kong\n▸ Migrations\n {2}ran [^\n]+\n▸ Start nodes\n {2}node-1 started \(pid \d+\), log nodes\/node-1\/logs\/node\.log\n▸ Wait until ready\n$/,
    )
    assert.equal((await sb.kctl('stop', 'node-1')).code, 0)
    const start = await sb.kctl('start')
    assert.equal(start.code, 0, start.stderr)
    assert.match(start.stderr, /^▸ Preflight: ports and runtime\n▸ Database\n▸ Migrations\n {2}database is up to date\n▸ Start nodes\n {2}node-1 started \(pid \d+\), log nodes\/node-1\/logs\/node\.log\n▸ Wait until ready\n$/)
    const file = join(sb.cwd, 'kong.yaml')
    await writeFile(file, '_format_version: "3.0"\nservices:\n- name: s1\n  url: http://127.0.0.1:9\n')
    const apply = await sb.kctl('apply', file)
    assert.equal(apply.code, 0, apply.stderr)
    const admin = `http://127\\.0\\.0\\.1:${sb.ports.admin}`
    assert.match(apply.stderr, new RegExp(`^▸ Reading the files and the configuration of ${admin}\\n▸ Applying 1 change to ${admin} in one transaction\\n$`))
    assert.match(apply.stdout, /^creating service s1\n/)
    for (const out of [init.stderr, start.stderr, apply.stderr]) assert.doesNotMatch(out, /\u001B|done \(/)
  })

  it('on a terminal: a spinner per phase, each ending with the time it took', async (t) => {
    ensureTmux()
    assert.equal((await sb.kctl('stop')).code, 0)
    const tty = startTmux('progress', `${process.execPath} ${join(ROOT, 'bin', 'run.js')} start`, {cwd: sb.cwd, env: {KCTL_DATA_DIR: sb.dataDir, NO_COLOR: '1'}, width: 160})
    t.after(() => tty.kill())
    // While a phase runs: its title, a spinner frame and the seconds it has taken so far.
    const live = /^▸ [^\n]+\.\.\. \S \d+s/m
    const running = await tty.waitFor((s) => live.test(s) || /EXIT:\d/.test(s), 'a running spinner', 120_000)
    assert.match(running, live)
    const screen = await tty.waitFor((s) => /EXIT:\d/.test(s), 'kctl start to end', 120_000)
    assert.equal(tty.exitStatus(), 0, screen)
    const phases = ['Preflight: ports and runtime', 'Database', 'Migrations', 'Start nodes', 'Wait until ready']
    const lines = screen.split('\n')
    for (const p of phases) assert.ok(lines.some((l) => new RegExp(`^▸ ${p}\\.\\.\\. done \\(\\d+\\.\\ds\\)$`).test(l)), `no finished spinner line for ${p}:\n${screen}`)
    // Details stay, above the next phase; the result follows the last phase.
    assert.match(screen, /▸ Database\.\.\. done \(\d+\.\ds\)\n {2}starting Postgres on 127\.0\.0\.1:\d+\n▸ Migrations/)
    assert.match(screen, /▸ Wait until ready\.\.\. done \(\d+\.\ds\)\nStarted: postgres, node-1\n/)
  })
})
