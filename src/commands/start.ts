import {BaseCommand} from '../kit/base-command.js'
import {namesSummary, print} from '../kit/output.js'
import {nodeArg, reporterFor, hostFlags, specFlag} from '../kit/flags.js'
import {start, type StartResult} from '../services/lifecycle.js'

export class Start extends BaseCommand {
  static override summary = 'Start the cluster, or one node (`postgres` is the embedded database).'
  static override description = `Starts the database, then the node(s), and waits until ready (a data plane: until it has the control plane's configuration hash). \`postgres\` names the embedded database. A data plane started while no control plane runs is not waited for: it serves its cached configuration and connects when a control plane is back.
Prints what it started and, apart, what was already running; --json: {"cluster", "started", "already_running"}.`

  static override examples = ['<%= config.bin %> start', '<%= config.bin %> start node-1']
  static override args = {node: nodeArg}
  static override flags = {spec: specFlag, ...hostFlags}

  async run(): Promise<StartResult> {
    const {args, flags} = await this.parse(Start)
    const result = await start({specPath: flags.spec, stateRoot: this.stateRoot, node: args.node, report: reporterFor(this.jsonEnabled())})
    if (!this.jsonEnabled()) for (const line of namesSummary([['Started', result.started], ['Already running', result.already_running]], 'Nothing to start.')) print(line)
    return result
  }
}
