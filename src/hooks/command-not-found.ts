/**
 * `kctl statu`: on a terminal, @oclif/plugin-not-found asks "Did you mean status?" and runs
 * it when the user agrees; anywhere else (no TTY, CI set, --json) it is a usage error that
 * names the closest command, with exit 2 and, with --json, the JSON error object.
 *
 * kctl declares this hook instead of listing the plugin in `oclif.plugins`: oclif runs every
 * plugin's hook for the event at once, and the plugin's alone exits 127 without a suggestion
 * when there is no terminal.
 */
import {Errors, toConfiguredId, type Hook} from '@oclif/core'
import askDidYouMean from '@oclif/plugin-not-found'
import {UserError} from '../kit/errors.js'
import {failWith, wantsJson} from '../kit/error-output.js'
import {editDistance} from '../runtime/conf/nearest.js'

const hook: Hook.CommandNotFound = async function (opts) {
  const argv = opts.argv ?? []
  const json = wantsJson(argv)
  if (process.stdin.isTTY && process.stderr.isTTY && !process.env.CI && !json) {
    try {
      return await askDidYouMean.call(this, opts)
    } catch (err) {
      if (err instanceof Errors.CLIError && err.oclif.exit === 127) err.oclif.exit = 2
      throw err
    }
  }
  const typed = toConfiguredId(opts.id, opts.config)
  // `kctl nodes extra`: oclif looks for a command `nodes extra`; it is an argument too many.
  const parent = opts.config.findCommand(opts.id.split(':')[0])
  if (parent && opts.id.includes(':')) {
    const extra = opts.id.split(':').slice(1).join(' ')
    return failWith(new UserError('USAGE', `Unexpected argument: ${extra}`, {hint: `See \`${opts.config.bin} ${parent.id} --help\`.`}), {json, verbose: false})
  }
  const ids = opts.config.commands.filter((c) => !c.hidden).flatMap((c) => [c.id, ...c.aliases])
  const suggestion = closest(opts.id, ids)
  const didYouMean = suggestion ? ` Did you mean \`${opts.config.bin} ${toConfiguredId(suggestion, opts.config)}\`?` : ''
  const err = new UserError('USAGE', `\`${typed}\` is not a ${opts.config.bin} command.${didYouMean}`, {hint: `Run \`${opts.config.bin} help\` for the list of commands.`})
  return failWith(err, {json, verbose: false})
}

export default hook

/** The id nearest to `typed` by edit distance, when it is near enough to be a typo. */
export function closest(typed: string, ids: readonly string[]): string | undefined {
  let best: {id: string; d: number} | undefined
  for (const id of ids) {
    const d = editDistance(typed, id)
    if (!best || d < best.d) best = {id, d}
  }
  return best && best.d <= Math.max(2, Math.floor(typed.length / 2)) ? best.id : undefined
}
