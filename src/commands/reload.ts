import {BaseCommand} from '../kit/base-command.js'
import {namesSummary, print} from '../kit/output.js'
import {nodeArg, reporterFor, hostFlags, specFlag} from '../kit/flags.js'
import {reload, type ReloadResult} from '../services/reload.js'

export class Reload extends BaseCommand {
  static override summary = 'Apply kong.conf changes to running nodes without closing a connection (as `kong reload`).'
  static override description = `Rewrites each node's kong.conf from kctl.yaml, then the node starts a new serving process that takes over its listening sockets; the old one finishes its requests and exits. Control planes first, then the other nodes, one at a time. A new process that cannot start is stopped: the node keeps serving with its previous configuration and the command exits 1 with the reason. Nodes with node_worker_processes > 1 are refused (use restart).
--json: {"cluster", "reloaded", "not_running"}.`

  static override examples = ['<%= config.bin %> reload', '<%= config.bin %> reload dp-1']
  static override args = {node: nodeArg}
  static override flags = {spec: specFlag, ...hostFlags}

  async run(): Promise<ReloadResult> {
    const {args, flags} = await this.parse(Reload)
    const result = await reload({specPath: flags.spec, stateRoot: this.stateRoot, node: args.node, report: reporterFor(this.jsonEnabled())})
    if (!this.jsonEnabled()) for (const line of namesSummary([['Reloaded', result.reloaded], ['Not running', result.not_running]], 'Nothing to reload.')) print(line)
    return result
  }
}
