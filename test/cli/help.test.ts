/**
 * The CLI's own help, version and completion, through the real `bin/run.js` without a
 * cluster: `kctl help`, `-h`, every command's description, examples and KCTL_* variables.
 */
import assert from 'node:assert/strict'
import {readdir, readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {after, before, describe, it} from 'node:test'
import {ROOT, scratchCli, type KctlRun} from '../helpers/kctl.js'

const scratch = scratchCli('kctl-usage-')
const kctl = scratch.kctl

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

  it('kctl autocomplete fish prints a fish completion script for commands, flags and their values', async () => {
    const r = await kctl(['autocomplete', 'fish'])
    assert.equal(r.code, 0, r.stderr)
    const lines = r.stdout.split('\n')
    assert.ok(lines.includes("complete -c kctl -n __fish_use_subcommand -a status -d 'Is the cluster healthy? Nodes, database, data planes and their sync state; --watch for a live dashboard'"), r.stdout)
    assert.ok(lines.includes("complete -c kctl -n '__fish_seen_subcommand_from status' -l interval -r -d 'Seconds between refreshes with --watch (minimum 0.2)'"), r.stdout)
    assert.ok(lines.includes("complete -c kctl -n '__fish_seen_subcommand_from init' -l mode -x -a 'embedded distributed hybrid' -d 'Deployment mode (default embedded)'"), r.stdout)
    assert.ok(lines.includes("complete -c kctl -n '__fish_seen_subcommand_from logs' -l follow -s f -d 'Keep printing new lines until interrupted'"), r.stdout)
    for (const c of ['init', 'apply', 'gen-cert', 'version', 'help']) assert.ok(lines.some((l) => new RegExp(`^complete -c kctl -n __fish_use_subcommand -a ${c}( |$)`).test(l)), c)
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
  const files = (await readdir(dir, {recursive: true})).filter((f) => f.endsWith('.js'))
  // autocomplete/fish.js is `kctl autocomplete fish`.
  return Promise.all(files.map(async (f): Promise<[string, CommandClass]> => [f.slice(0, -3).replaceAll('/', ' '), Object.values(await import(pathToFileURL(join(dir, f)).href))[0] as CommandClass]))
}

describe('kctl help <command>', () => {
  it('every command has a description, examples that its help shows, and a KCTL_* variable for every flag', async () => {
    const all = await commands()
    assert.ok(all.length >= 14, all.map(([id]) => id).join(', '))
    for (const [id, cmd] of all) {
      assert.ok(cmd.summary && cmd.description, `${id}: summary and description`)
      assert.ok(cmd.examples?.length, `${id}: examples`)
      const r = await kctl(['help', ...id.split(' ')])
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
