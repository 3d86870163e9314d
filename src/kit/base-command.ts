/**
 * The one base command: JSON mode (--json or KCTL_JSON), a --verbose flag, and error
 * rendering (error-output.ts). User errors show a message and what to do next; bugs show
 * the stack with --verbose or KCTL_DEBUG; usage errors exit 2.
 */
import {Command, Errors, Flags, type Interfaces} from '@oclif/core'
import {runCleanups} from './cleanup.js'
import {KctlError} from './errors.js'
import {failWith, jsonFromEnv, usageErrorOf} from './error-output.js'
import {stateRoot} from './paths.js'
import {endProgress} from './progress.js'

export const verboseFlag = Flags.boolean({description: 'Show stack traces and more detail on errors.', env: 'KCTL_VERBOSE'})

export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags: Interfaces.FlagInput = {
    json: Flags.boolean({description: 'Print the result as JSON on stdout; errors too, as {"error": {"code", "message", "hint"}}.', helpGroup: 'GLOBAL', env: 'KCTL_JSON'}),
    verbose: verboseFlag,
  }

  /** The state root (KCTL_DATA_DIR or oclif's data dir). */
  protected get stateRoot(): string {
    return stateRoot(this.config.dataDir)
  }

  /** --json, or KCTL_JSON=1 as every flag's variable works. */
  override jsonEnabled(): boolean {
    return super.jsonEnabled() || (Boolean(this.ctor.enableJsonFlag) && jsonFromEnv())
  }

  protected override async catch(err: Interfaces.CommandError): Promise<unknown> {
    // this.exit(n): the command chose its status and printed what it had to.
    if (err instanceof Errors.ExitError) throw err
    endProgress(false)
    await runCleanups()
    const usage = usageErrorOf(err, this.id?.replaceAll(':', ' '))
    // oclif's own parse errors without JSON: its rendering (the message and the command's
    // usage), always with exit 2.
    if (usage && !(err instanceof KctlError) && !this.jsonEnabled()) {
      ;(err as {oclif?: {exit?: number}}).oclif = {exit: 2}
      return super.catch(err)
    }
    const verbose = this.argv.includes('--verbose') || Boolean(process.env.KCTL_DEBUG) || Boolean(process.env.KCTL_VERBOSE)
    return failWith(usage ?? err, {json: this.jsonEnabled(), verbose})
  }

  protected override async finally(err: Error | undefined): Promise<unknown> {
    endProgress(!err)
    await runCleanups()
    return super.finally(err)
  }
}
