/**
 * The CLI's own surface, through the real `bin/run.js` without a cluster: help, version,
 * completion, "did you mean", usage errors (exit 2, one JSON error object with --json or
 * KCTL_JSON=1) and the update notice (only on a terminal, never waiting on the network).
 */
import assert from 'node:assert/strict'
import {mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {createServer, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {after, before, describe, it} from 'node:test'
import {processesMentioning, ROOT, runKctl, type KctlRun} from '../helpers/kctl.js'
import {ensureTmux, startTmux} from '../status/tmux.js'

let dir: string
const kctl = (args: string[], env: Record<string, string> = {}): Promise<KctlRun> => runKctl(args, {cwd: dir, env: {KCTL_DATA_DIR: join(dir, 'data'), KCTL_CACHE_DIR: join(dir, 'cache'), ...env}})

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kctl-usage-'))
})
after(async () => {
  await rm(dir, {recursive: true, force: true})
})

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

describe('help, version, completion', () => {
  it('kctl help lists the commands; help status, status -h and status --help show its usage', async () => {
    const all = await kctl(['help'])
    assert.equal(all.code, 0, all.stderr)
    for (const c of ['init', 'status', 'apply', 'gen-cert', 'autocomplete', 'version']) assert.match(all.stdout, new RegExp(`^  ${c}\\b`, 'm'))
    for (const args of [['help', 'status'], ['status', '-h'], ['status', '--help']]) {
      const r = await kctl(args)
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stdout, /USAGE\n {2}\$ kctl status/, args.join(' '))
    }
  })

  it('kctl version, --version and -v print the version', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'))
    for (const args of [['version'], ['--version'], ['-v']]) {
      const r = await kctl(args)
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, new RegExp(`^kctl/${pkg.version.replaceAll('.', '\\.')} `), args.join(' '))
    }
  })

  it('kctl autocomplete script bash and zsh print the setup line', async () => {
    for (const shell of ['bash', 'zsh']) {
      const r = await kctl(['autocomplete', 'script', shell])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, new RegExp(`KCTL_AC_${shell.toUpperCase()}_SETUP_PATH=.*# kctl autocomplete setup`))
    }
  })
})

interface CommandClass {
  summary?: string
  description?: string
  examples?: (string | {description: string; command: string})[]
  flags?: Record<string, {env?: string}>
  baseFlags?: Record<string, {env?: string}>
}

/** Every command of the CLI, as oclif finds them: the compiled files of src/commands. */
async function commands(): Promise<[string, CommandClass][]> {
  const dir = join(ROOT, 'dist', 'src', 'commands')
  const files = (await readdir(dir)).filter((f) => f.endsWith('.js'))
  return Promise.all(files.map(async (f): Promise<[string, CommandClass]> => [f.slice(0, -3), Object.values(await import(pathToFileURL(join(dir, f)).href))[0] as CommandClass]))
}

describe('kctl help <command>', () => {
  it('every command has a description, examples that its help shows, and a KCTL_* variable for every flag', async () => {
    const all = await commands()
    assert.ok(all.length >= 14, all.map(([id]) => id).join(', '))
    for (const [id, cmd] of all) {
      assert.ok(cmd.summary && cmd.description, `${id}: summary and description`)
      assert.ok(cmd.examples?.length, `${id}: examples`)
      const r = await kctl(['help', id])
      assert.equal(r.code, 0, `${id}: ${r.stderr}`)
      // Help wraps long example lines with a trailing backslash.
      const text = r.stdout.replace(/ \\\n\s*/g, ' ').replace(/\s+/g, ' ')
      assert.ok(text.includes(cmd.description!.split('\n')[0].split(' ').slice(0, 8).join(' ')), `help ${id} shows the description:\n${r.stdout}`)
      assert.match(r.stdout, /^EXAMPLES$/m, id)
      for (const ex of cmd.examples!) {
        const {command, description} = typeof ex === 'string' ? {command: ex, description: ''} : ex
        const shown = command.replaceAll('<%= config.bin %>', 'kctl')
        // A command line that starts with kctl gets a `$ ` prompt.
        assert.ok(text.includes(shown.startsWith('kctl ') ? `$ ${shown}` : shown), `help ${id} shows the example ${command}:\n${r.stdout}`)
        assert.ok(text.includes(description), `help ${id} shows the example's description ${description}`)
      }
      for (const [name, flag] of Object.entries({...cmd.baseFlags, ...cmd.flags})) {
        assert.match(flag.env ?? '', /^KCTL_[A-Z_]+$/, `${id} --${name} has a KCTL_* variable`)
        assert.ok(text.includes(`env: ${flag.env}`), `help ${id} names ${flag.env}`)
      }
    }
  })
})

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
    const file = join(dir, 'kong.yaml')
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

describe('update notice', () => {
  /** A cache in which an earlier run recorded that the registry has kctl 99.0.0. */
  async function cacheWithNewerVersion(name: string): Promise<string> {
    const cache = join(dir, name)
    await mkdir(cache, {recursive: true})
    await writeFile(join(cache, 'version'), JSON.stringify({latest: '99.0.0', current: '0.0.1'}))
    return cache
  }

  it('is silent with CI set, and CI runs leave the registry alone', async () => {
    const cache = await cacheWithNewerVersion('cache-ci')
    const before = await readFile(join(cache, 'version'), 'utf8')
    const r = await kctl(['--version'], {KCTL_CACHE_DIR: cache, KCTL_NEW_VERSION_CHECK_FREQ: '0'})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stderr, '')
    await assert.rejects(stat(join(cache, 'last-warning')), 'no notice recorded')
    assert.equal(await readFile(join(cache, 'version'), 'utf8'), before, 'no refresh started')
  })

  it('on a terminal: shown from the cache; with an empty cache kctl does not wait for a registry that never answers', async (t) => {
    ensureTmux()
    const cache = await cacheWithNewerVersion('cache-tty')
    const shown = startTmux('notice', `${process.execPath} ${join(ROOT, 'bin', 'run.js')} --version`, {cwd: dir, env: {KCTL_CACHE_DIR: cache, NO_COLOR: '1'}})
    t.after(() => shown.kill())
    const screen = await shown.waitFor((s) => /EXIT:\d/.test(s), 'kctl --version to end')
    assert.match(screen, /kctl 99\.0\.0 is available \(this is \d+\.\d+\.\d+\)/)
    assert.match(screen, /^kctl\/\d+\.\d+\.\d+ /m)
    assert.equal(shown.exitStatus(), 0)

    // A registry that accepts the connection and never answers.
    const sockets: Socket[] = []
    const registry = createServer((s) => sockets.push(s))
    await new Promise<void>((r) => registry.listen(0, '127.0.0.1', r))
    const emptyCache = join(dir, 'cache-offline')
    t.after(async () => {
      for (const pid of await processesMentioning(emptyCache)) process.kill(pid, 'SIGKILL')
      for (const s of sockets) s.destroy()
      registry.close()
    })
    const port = (registry.address() as {port: number}).port
    const offline = startTmux('offline', `${process.execPath} ${join(ROOT, 'bin', 'run.js')} --version`, {cwd: dir, env: {KCTL_CACHE_DIR: emptyCache, KCTL_NPM_REGISTRY: `http://127.0.0.1:${port}`, NO_COLOR: '1'}})
    t.after(() => offline.kill())
    const done = await offline.waitFor((s) => /EXIT:\d/.test(s), 'kctl --version to end')
    assert.equal(offline.exitStatus(), 0, done)
    assert.doesNotMatch(done, /is available/)
    // The version check went out in the background; kctl ended without its answer.
    const deadline = Date.now() + 15_000
    while (!sockets.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    assert.equal(sockets.length, 1, 'the registry was asked, by a detached process')
    assert.equal(sockets[0].destroyed, false, 'and has not answered')
  })
})
