import {Flags} from '@oclif/core'
import {BaseCommand} from '../kit/base-command.js'
import {hostFlags, specFlag} from '../kit/flags.js'
import {print} from '../kit/output.js'
import {inCi} from '../kit/ci.js'
import {UserError} from '../kit/errors.js'
import {status, type StatusResult} from '../services/status/index.js'
import {plainStatus} from '../ui/plain.js'

/** Seconds, at least 0.2, whether or not --watch is given. @throws UserError USAGE (exit 2) */
const intervalFlag = Flags.custom<number>({
  description: 'Seconds between refreshes with --watch (minimum 0.2).',
  default: 1,
  env: 'KCTL_INTERVAL',
  helpValue: 'SECONDS',
  async parse(input) {
    const seconds = Number(input)
    if (input.trim() === '' || !Number.isFinite(seconds) || seconds < 0.2) throw new UserError('USAGE', `must be a number of seconds, at least 0.2 (got '${input}').`, {hint: 'For example --interval 0.5.'})
    return seconds
  },
})

export class Status extends BaseCommand {
  static override summary = 'Is the cluster healthy? Nodes, database, data planes and their sync state; --watch for a live dashboard.'
  static override description = `Exits 0 when every node runs and answers and every data plane is in sync, 1 otherwise (a node down or failed, a DP stale, behind or incompatible), so scripts can gate on it.
--watch refreshes every --interval seconds: an interactive dashboard on a terminal (q quits, ? help), one plain block per change without one (or with CI set).`

  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --json | jq .data_planes', '<%= config.bin %> status --watch --interval 0.5']
  static override flags = {
    spec: specFlag, ...hostFlags,
    watch: Flags.boolean({char: 'w', description: 'Live dashboard, refreshed every --interval seconds.', env: 'KCTL_WATCH'}),
    interval: intervalFlag(),
  }

  async run(): Promise<StatusResult | void> {
    const {flags} = await this.parse(Status)
    const ref = {specPath: flags.spec, stateRoot: this.stateRoot}
    if (flags.watch) {
      if (this.jsonEnabled()) throw new UserError('USAGE', '--watch and --json cannot be used together.', {hint: 'Use `kctl status --json` in a loop for machine-readable snapshots.'})
      const interactive = Boolean(process.stdout.isTTY) && !inCi()
      const color = interactive && !process.env.NO_COLOR && process.env.TERM !== 'dumb'
      // Ink and React load only for --watch, so a plain `kctl status` starts fast; React's
      // development build (the default without NODE_ENV) costs several times the CPU per frame.
      process.env.NODE_ENV ??= 'production'
      const {runWatch} = await import('../ui/watch.js')
      return runWatch({...ref, intervalMs: flags.interval * 1000, interactive, color})
    }
    const result = await status(ref)
    if (!this.jsonEnabled()) print(plainStatus(result))
    // Scripts gate on the exit status; --json still prints the whole result first.
    if (!result.healthy) process.exitCode = 1
    return result
  }
}
