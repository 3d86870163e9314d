/**
 * The one base command: JSON mode, a --verbose flag, and error rendering. User errors show
 * a message and what to do next; bugs show the stack with --verbose or KCTL_DEBUG.
 */
import {Command, Errors, Flags, type Interfaces} from '@oclif/core'
import {KctlError, UserError, exitStatusOf} from './errors.js'
import {style} from './output.js'
import {stateRoot} from './paths.js'

export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    verbose: Flags.boolean({description: 'Show stack traces and more detail on errors.', env: 'KCTL_VERBOSE'}),
  }

  /** The state root (KCTL_DATA_DIR or oclif's data dir). */
  protected get stateRoot(): string {
    return stateRoot(this.config.dataDir)
  }

  protected override async catch(err: Interfaces.CommandError): Promise<unknown> {
    // oclif's own parse/usage errors: keep its rendering and exit 2.
    if (!(err instanceof KctlError) && (err as {oclif?: {exit?: number}}).oclif?.exit !== undefined) return super.catch(err)
    const status = exitStatusOf(err)
    if (this.jsonEnabled()) {
      const code = err instanceof KctlError ? err.code : 'BUG'
      this.logJson({error: {code, message: err.message, ...(err instanceof KctlError && err.hint ? {hint: err.hint} : {}), ...(err instanceof KctlError && err.details ? {details: err.details} : {})}})
    } else {
      process.stderr.write(this.render(err))
    }
    throw new Errors.ExitError(status)
  }

  private render(err: Error): string {
    const verbose = this.argv.includes('--verbose') || Boolean(process.env.KCTL_DEBUG) || Boolean(process.env.KCTL_VERBOSE)
    const lines = [`${style.red('Error:')} ${err.message}`]
    if (err instanceof KctlError && err.hint) lines.push(`${style.bold('Next:')} ${err.hint}`)
    if (verbose && !(err instanceof UserError)) lines.push(style.dim(err.stack ?? ''))
    else if (!(err instanceof KctlError)) lines.push(style.dim('Re-run with --verbose for details.'))
    return `${lines.join('\n')}\n`
  }
}
