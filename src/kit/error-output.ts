/**
 * How a failure reaches the user, from a command (base-command.ts) or a hook alike:
 *
 *   --json (or KCTL_JSON=1)  one `{"error": {"code", "message", "hint"}}` object on stdout
 *   otherwise                `Error: …` and `Next: …` on stderr
 *
 * and the process exits with the status of the error's code (errors.ts). oclif's own parse
 * errors (unknown flag, missing argument, a value out of its options) are USAGE errors: exit 2.
 */
import {Errors} from '@oclif/core'
import {KctlError, UserError, exitStatusOf} from './errors.js'
import {style} from './output.js'

const TRUTHY = new Set(['1', 'true', 'y', 'yes'])

/** KCTL_JSON=1 (or true, yes) asks for JSON as --json does. */
export const jsonFromEnv = (): boolean => TRUTHY.has((process.env.KCTL_JSON ?? '').toLowerCase())

/** `--json` before any `--`, or KCTL_JSON. */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--')
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json') || jsonFromEnv()
}

/**
 * The USAGE error `err` stands for, or undefined when it is no usage error: our own USAGE
 * errors, and oclif's parse errors (exit 2, or a flag's parser refusing its value).
 * `command` names the command for the hint (`kctl status --help`).
 */
export function usageErrorOf(err: Error, command?: string): UserError | undefined {
  const help = `See \`kctl ${command ? `${command} ` : ''}--help\`.`
  if (err instanceof KctlError) return err.code === 'USAGE' ? new UserError('USAGE', plainParseMessage(err.message), {hint: err.hint ?? help}) : undefined
  const exit = (err as {oclif?: {exit?: number}}).oclif?.exit
  if (exit !== 2 && !('parse' in err) && !/^Parsing --/.test(err.message)) return undefined
  return new UserError('USAGE', plainParseMessage(err.message), {hint: help})
}

/** oclif's decoration of a parse error (`Parsing --x \n\t…`, `See more help with --help`) removed. */
function plainParseMessage(message: string): string {
  return message
    .replace(/^Parsing (--[\w-]+) \n\t/, '$1: ')
    .replace(/\nSee more help with --help$/, '')
    .replace(/^The following error occurred:\n\s*/, '')
    .trim()
}

/**
 * Writes `err` for the user and throws oclif's ExitError with its exit status.
 * @throws Errors.ExitError always
 */
export function failWith(err: Error, o: {json: boolean; verbose: boolean}): never {
  if (o.json) {
    const code = err instanceof KctlError ? err.code : 'BUG'
    const hint = err instanceof KctlError ? err.hint : 'This is a bug in kctl. Re-run with --verbose and report the output.'
    const details = err instanceof KctlError ? err.details : undefined
    process.stdout.write(`${JSON.stringify({error: {code, message: err.message, ...(hint ? {hint} : {}), ...(details ? {details} : {})}}, null, 2)}\n`)
  } else {
    const lines = [`${style.red('Error:')} ${err.message}`]
    if (err instanceof KctlError && err.hint) lines.push(`${style.bold('Next:')} ${err.hint}`)
    if (o.verbose && !(err instanceof UserError)) lines.push(style.dim(err.stack ?? ''))
    else if (!(err instanceof KctlError)) lines.push(style.dim('Re-run with --verbose for details.'))
    process.stderr.write(`${lines.join('\n')}\n`)
  }
  throw new Errors.ExitError(exitStatusOf(err))
}
