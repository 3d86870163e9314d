import {BaseCommand} from '../kit/base-command.js'
import {namesSummary, print} from '../kit/output.js'
import {nodeArg, reporterFor, hostFlags, specFlag} from '../kit/flags.js'
import {stop, type StopResult} from '../services/lifecycle.js'

export class Stop extends BaseCommand {
  static override summary = 'Stop the cluster, or one node (`postgres` is the embedded database).'
  static override description = `Stops nodes, last in the spec first (data planes before the control plane; SIGTERM: they drain, a node still there after 15 s is killed), then the database.
--json: {"cluster", "stopped", "already_stopped"}.`

  static override examples = ['<%= config.bin %> stop', '<%= config.bin %> stop node-1']
  static override args = {node: nodeArg}
  static override flags = {spec: specFlag, ...hostFlags}

  async run(): Promise<StopResult> {
    const {args, flags} = await this.parse(Stop)
    const result = await stop({specPath: flags.spec, stateRoot: this.stateRoot, node: args.node, report: reporterFor(this.jsonEnabled())})
    if (!this.jsonEnabled()) for (const line of namesSummary([['Stopped', result.stopped], ['Already stopped', result.already_stopped]], 'Nothing to stop.')) print(line)
    return result
  }
}
