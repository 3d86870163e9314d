import {Flags} from '@oclif/core'
import {BaseCommand} from '../kit/base-command.js'
import {namesSummary, print} from '../kit/output.js'
import {nodeArg, reporterFor, hostFlags, specFlag} from '../kit/flags.js'
import {restart, type RestartResult} from '../services/lifecycle.js'

export class Restart extends BaseCommand {
  static override summary = 'Restart the cluster, or one node (`postgres` is the embedded database).'
  static override description = `Rolling by default: each running node, control planes first, is replaced by a new process tree (its supervisor included) that takes over its listening sockets, so no connection is refused; the next node goes once this one is ready and, for a data plane, in sync with its control plane. Picks up listen and conf changes from kctl.yaml. The database keeps running; nodes that were not running are started. --all-at-once stops everything (the database too) and starts it again. It prints what was restarted, what it had to start, and what was left running.
--json: {"cluster", "restarted", "started", "already_running"}.`

  static override examples = ['<%= config.bin %> restart', '<%= config.bin %> restart node-1', '<%= config.bin %> restart --all-at-once']
  static override args = {node: nodeArg}
  static override flags = {
    spec: specFlag, ...hostFlags,
    'all-at-once': Flags.boolean({description: 'Stop every node (and the embedded database), then start them: connections are refused meanwhile.', env: 'KCTL_RESTART_ALL_AT_ONCE'}),
  }

  async run(): Promise<RestartResult> {
    const {args, flags} = await this.parse(Restart)
    const result = await restart({specPath: flags.spec, stateRoot: this.stateRoot, node: args.node, allAtOnce: flags['all-at-once'], report: reporterFor(this.jsonEnabled())})
    if (!this.jsonEnabled()) for (const line of namesSummary([['Restarted', result.restarted], ['Started', result.started], ['Left running', result.already_running]], 'Nothing to restart.')) print(line)
    return result
  }
}
