import {BaseCommand} from '../kit/base-command.js'
import {namesSummary, print} from '../kit/output.js'
import {nodeArg, reporterFor, specFlag} from '../kit/flags.js'
import {restart, type RestartResult} from '../services/lifecycle.js'

export class Restart extends BaseCommand {
  static override summary = 'Restart the cluster, or one node (`postgres` is the embedded database).'
  static override description = `Stops then starts the cluster, or one node; picks up listen and conf changes from kctl.yaml. Restarting one node leaves the database running and says so: it prints what was restarted, what it had to start, and what was left running.
--json: {"cluster", "restarted", "started", "already_running"}.`

  static override examples = ['<%= config.bin %> restart', '<%= config.bin %> restart node-1']
  static override args = {node: nodeArg}
  static override flags = {spec: specFlag}

  async run(): Promise<RestartResult> {
    const {args, flags} = await this.parse(Restart)
    const result = await restart({specPath: flags.spec, stateRoot: this.stateRoot, node: args.node, report: reporterFor(this.jsonEnabled())})
    if (!this.jsonEnabled()) for (const line of namesSummary([['Restarted', result.restarted], ['Started', result.started], ['Left running', result.already_running]], 'Nothing to restart.')) print(line)
    return result
  }
}
