import {Flags} from '@oclif/core'
import {BaseCommand, verboseFlag} from '../kit/base-command.js'
import {claimSignal} from '../kit/cleanup.js'
import {requiredNodeArg, hostFlags, specFlag} from '../kit/flags.js'
import {logs} from '../services/logs.js'

export class Logs extends BaseCommand {
  static override summary = "Show a node's log (`postgres` for the embedded database)."
  static override description = `Prints the last --lines lines of the node's log (\`postgres\` for the embedded database's), then with -f every new line until interrupted (Ctrl-C).`

  static override enableJsonFlag = false
  // It streams the log as it is: no --json.
  static override baseFlags = {verbose: verboseFlag}
  static override examples = ['<%= config.bin %> logs node-1', '<%= config.bin %> logs node-1 -f', '<%= config.bin %> logs postgres -n 200']
  static override args = {node: requiredNodeArg}
  static override flags = {
    follow: Flags.boolean({char: 'f', description: 'Keep printing new lines until interrupted.', env: 'KCTL_FOLLOW'}),
    lines: Flags.integer({char: 'n', description: 'Lines from the end to show first (0: all).', default: 50, min: 0, env: 'KCTL_LINES'}),
    spec: specFlag, ...hostFlags,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Logs)
    const stop = new AbortController()
    claimSignal('SIGINT')
    process.once('SIGINT', () => stop.abort())
    await logs({
      specPath: flags.spec,
      stateRoot: this.stateRoot,
      node: args.node,
      lines: flags.lines,
      follow: flags.follow,
      signal: stop.signal,
      write: (chunk) => process.stdout.write(chunk),
    })
  }
}
