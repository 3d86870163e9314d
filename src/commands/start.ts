import {BaseCommand} from '../kit/base-command.js'
import {print} from '../kit/output.js'
import {nodeArg, reporterFor, specFlag} from '../kit/flags.js'
import {start, type LifecycleResult} from '../services/lifecycle.js'

export class Start extends BaseCommand {
  static override summary = 'Start the cluster, or one node (`postgres` is the embedded database).'
  static override examples = ['<%= config.bin %> start', '<%= config.bin %> start node-1']
  static override args = {node: nodeArg}
  static override flags = {spec: specFlag}

  async run(): Promise<LifecycleResult> {
    const {args, flags} = await this.parse(Start)
    const result = await start({specPath: flags.spec, stateRoot: this.stateRoot, node: args.node, report: reporterFor(this.jsonEnabled())})
    if (!this.jsonEnabled()) print(`Started: ${result.nodes.join(', ') || 'nothing'}`)
    return result
  }
}
