/**
 * The CLI's questions on a real terminal: the real CLI in tmux (no CI, a TTY on stdin),
 * keys typed as a user would. Each run ends with the shell printing `EXIT:<status>` and
 * whether the terminal is back in canonical mode (see tmux.ts).
 *
 *   init     no flags, no kctl.yaml: asks the mode (select), then the name (input)
 *   destroy  asks before stopping anything (no → ABORTED, exit 1)
 *   reset    asks before deleting every entity
 *   apply    asks only on the first apply to a gateway that deletes entities
 */
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parse} from 'yaml'
import {isAlive} from '../../src/kit/process.js'
import {createSandbox, processesMentioning, ROOT, withPortTaken, type Sandbox} from '../helpers/kctl.js'
import {ensureTmux, startTmux, type TmuxSession} from '../status/tmux.js'
import {until} from '../helpers/until.js'

const BIN = join(ROOT, 'bin', 'run.js')
const ended = (s: string) => /EXIT:\d+/.test(s)
let runs = 0

/** Runs `kctl <args>` in tmux for `fn`; the session is killed however `fn` ends. */
async function onTerminal<T>(sb: Sandbox, args: string[], fn: (t: TmuxSession) => Promise<T>): Promise<T> {
  const t = startTmux(`prompts-${++runs}`, `${process.execPath} ${BIN} ${args.join(' ')}`, {cwd: sb.cwd, env: {KCTL_DATA_DIR: sb.dataDir, NO_COLOR: '1'}, width: 200, height: 50})
  try {
    return await fn(t)
  } finally {
    t.kill()
  }
}

/** Waits for the command to end; returns the final screen. Asserts the terminal was restored. */
async function finished(t: TmuxSession, timeoutMs = 30_000): Promise<string> {
  const screen = await t.waitFor((s) => ended(s) && /TTY: -?icanon/.test(s), 'the command to end', timeoutMs)
  assert.match(screen, /TTY: icanon/, `terminal left in raw mode:\n${screen}`)
  return screen
}

/** Waits until no process mentions the sandbox (a killed tmux session's shell may take a moment to go). */
async function nothingLeftRunning(sb: Sandbox): Promise<void> {
  await until('nothing of the sandbox left running', () => processesMentioning(sb.dir), {ok: (left) => left.length === 0})
}

before(() => ensureTmux())

describe('kctl init on a terminal, no flags, no kctl.yaml', () => {
  // The template listens on Kong's default ports, which other tests may hold: with port
  // 8000 taken, init stops at preflight after writing kctl.yaml and starting nothing.
  it('asks the mode and the name, and renders kctl.yaml with both', async () => {
    const sb = await createSandbox()
    try {
      await withPortTaken(8000, () =>
        onTerminal(sb, ['init'], async (t) => {
          const mode = await t.waitFor((s) => s.includes('Deployment mode'), 'the mode question')
          assert.match(mode, /▸ embedded\n {2}distributed\n {2}hybrid/, 'embedded is preselected')
          t.keys('Enter')
          await t.waitFor((s) => /\? Cluster name/.test(s), 'the name question')
          t.keys('picked-name', 'Enter')
          const end = await finished(t, 60_000)
          assert.match(end, /✔ Deployment mode · embedded/)
          assert.match(end, /✔ Cluster name · picked-name/)
          assert.match(end, /Port 8000 is already in use/)
          assert.equal(t.exitStatus(), 1)
        }),
      )
      const spec = parse(await readFile(join(sb.cwd, 'kctl.yaml'), 'utf8'))
      assert.equal(spec.metadata.name, 'picked-name')
      assert.equal(spec.spec.mode, 'embedded')
      await nothingLeftRunning(sb)
    } finally {
      await sb.cleanup()
    }
  })

  it('with --dry-run still asks; hybrid plans a control plane and two data planes and writes nothing', async () => {
    const sb = await createSandbox()
    try {
      await onTerminal(sb, ['init', '--dry-run'], async (t) => {
        await t.waitFor((s) => s.includes('Deployment mode'), 'the mode question')
        t.keys('Down', 'Down')
        await t.waitFor((s) => s.includes('▸ hybrid'), 'hybrid selected')
        t.keys('Enter')
        await t.waitFor((s) => /\? Cluster name/.test(s), 'the name question')
        t.keys('edge', 'Enter')
        const end = await finished(t)
        assert.equal(t.exitStatus(), 0)
        assert.match(end, /✔ Deployment mode · hybrid/)
        assert.match(end, /✔ Cluster name · edge/)
        assert.match(end, /Start control planes\n {2}- start cp-1 \(control_plane\)/)
        assert.match(end, /Start data planes\n {2}- start dp-1 \(data_plane\).*\n {2}- start dp-2 \(data_plane\)/)
        assert.match(end, /generate \S+\/clusters\/edge\/certs\/cluster\.crt \(mtls shared\)/, 'the name names the state folder')
      })
      assert.equal(existsSync(join(sb.cwd, 'kctl.yaml')), false, 'a dry run writes no spec')
      assert.equal(existsSync(join(sb.dataDir, 'clusters')), false, 'nor any state')
    } finally {
      await sb.cleanup()
    }
  })

  it('Esc at a question cancels with a message and changes nothing', async () => {
    const sb = await createSandbox()
    try {
      await onTerminal(sb, ['init'], async (t) => {
        await t.waitFor((s) => s.includes('Deployment mode'), 'the mode question')
        t.keys('Enter')
        await t.waitFor((s) => /\? Cluster name/.test(s), 'the name question')
        t.keys('Escape')
        const end = await finished(t)
        assert.equal(t.exitStatus(), 1)
        assert.match(end, /Error: Cancelled at "Cluster name"; nothing was changed\./)
        assert.doesNotMatch(end, /undefined/)
      })
      assert.equal(existsSync(join(sb.cwd, 'kctl.yaml')), false)
    } finally {
      await sb.cleanup()
    }
  })
})

describe('confirmations on a terminal, against an embedded cluster', () => {
  let sb: Sandbox
  const admin = () => `http://127.0.0.1:${sb.ports.admin}`
  const serviceNames = async (): Promise<string[]> => {
    const r = await fetch(`${admin()}/services`)
    assert.equal(r.status, 200)
    return ((await r.json()) as {data: {name: string}[]}).data.map((s) => s.name).sort()
  }
  const createService = async (name: string) => {
    const r = await fetch(`${admin()}/services`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({name, url: 'http://127.0.0.1:9'})})
    assert.equal(r.status, 201, await r.text())
  }
  /** Answers the confirmation `question` with `key` (y or n) and returns the final screen. */
  const answer = async (t: TmuxSession, question: string, key: 'y' | 'n', timeoutMs?: number) => {
    await t.waitFor((s) => s.includes(question), `the question "${question}"`)
    t.keys(key)
    t.keys('Enter')
    return finished(t, timeoutMs)
  }

  before(async () => {
    sb = await createSandbox()
    await sb.writeSpec()
    const r = await sb.kctl('init')
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
  })
  after(async () => {
    await sb?.cleanup()
  })

  it('reset asks; no deletes nothing, yes deletes every entity', async () => {
    await createService('handmade')
    const question = `? Delete all 1 entities from the gateway at ${admin()}?`
    await onTerminal(sb, ['reset'], async (t) => {
      const end = await answer(t, question, 'n')
      assert.equal(t.exitStatus(), 1)
      assert.match(end, /Error: Nothing was changed\./)
    })
    assert.deepEqual(await serviceNames(), ['handmade'])

    await onTerminal(sb, ['reset'], async (t) => {
      const end = await answer(t, question, 'y')
      assert.equal(t.exitStatus(), 0, end)
      assert.match(end, /deleting service handmade/)
      assert.match(end, /Deleted: 1/)
    })
    assert.deepEqual(await serviceNames(), [])
  })

  it('the first apply that deletes asks, saying when it deletes more than half of the gateway; once applied, the next ones do not', async () => {
    await createService('handmade')
    const file = join(sb.cwd, 'kong.yaml')
    await writeFile(file, '_format_version: "3.0"\nservices:\n- name: from-file\n  host: from-file.example\n')
    const question = `? First apply to ${admin()}: This deletes 1 of 1 entities (100%) on the gateway. Delete 1 entity not in the files?`
    await onTerminal(sb, ['apply', file], async (t) => {
      const end = await answer(t, question, 'n')
      assert.equal(t.exitStatus(), 1)
      assert.match(end, /Error: Nothing was changed\./)
    })
    assert.deepEqual(await serviceNames(), ['handmade'], 'declined: nothing created, nothing deleted')

    await onTerminal(sb, ['apply', file], async (t) => {
      const end = await answer(t, question, 'y')
      assert.equal(t.exitStatus(), 0, end)
    })
    assert.deepEqual(await serviceNames(), ['from-file'])

    // This gateway has had an apply: one more deleting apply goes through without asking.
    await createService('handmade-2')
    await onTerminal(sb, ['apply', file], async (t) => {
      const end = await finished(t)
      assert.equal(t.exitStatus(), 0, end)
      assert.doesNotMatch(end, /First apply/)
    })
    assert.deepEqual(await serviceNames(), ['from-file'])
  })

  it('destroy asks; no leaves the cluster running, yes stops it and removes its state', async () => {
    const question = '? Destroy cluster e2e: stop every process and delete its data?'
    const running = await processesMentioning(sb.dir)
    assert.ok(running.length >= 2, 'Postgres and the node run')
    await onTerminal(sb, ['destroy'], async (t) => {
      const end = await answer(t, question, 'n')
      assert.equal(t.exitStatus(), 1, 'declining is ABORTED (exit 1)')
      assert.match(end, /Error: Destroy cancelled; nothing changed\./)
    })
    assert.equal((await fetch(`${admin()}/status`)).status, 200, 'the node still answers')
    assert.ok(running.every(isAlive), 'every process of the cluster is still alive')

    await onTerminal(sb, ['destroy'], async (t) => {
      const end = await answer(t, question, 'y', 60_000)
      assert.equal(t.exitStatus(), 0, end)
      assert.match(end, /Cluster e2e destroyed/)
    })
    await nothingLeftRunning(sb)
    assert.equal(existsSync(join(sb.dataDir, 'clusters', 'e2e')), false, 'state removed')
    assert.equal(existsSync(join(sb.cwd, 'kctl.yaml')), true, 'the spec stays')
  })
})
