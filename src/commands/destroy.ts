import {BaseCommand} from '../kit/base-command.js'
import {print} from '../kit/output.js'
import {canPrompt, confirm} from '../kit/prompt.js'
import {reporterFor, hostFlags, specFlag, yesFlag} from '../kit/flags.js'
import {destroy, type DestroyResult} from '../services/destroy.js'

export class Destroy extends BaseCommand {
  static override summary = 'Stop every process of the cluster and delete its state and data (kctl.yaml stays).'
  static override description = `Stops everything (data planes before control planes, then the database) and deletes the cluster's state and data, certificates kctl generated included; files given with --cert/--key are yours and stay, and so does kctl.yaml (\`kctl init\` recreates the cluster).
Asks on a terminal; without one it refuses unless --yes.`

  static override examples = [
    {description: 'Asks first', command: '<%= config.bin %> destroy'},
    {description: 'Without asking (scripts, CI)', command: '<%= config.bin %> destroy --yes'},
  ]
  static override flags = {yes: yesFlag, spec: specFlag, ...hostFlags}

  async run(): Promise<DestroyResult> {
    const {flags} = await this.parse(Destroy)
    const result = await destroy({
      specPath: flags.spec,
      stateRoot: this.stateRoot,
      yes: flags.yes,
      confirm: canPrompt() ? confirm : undefined,
      report: reporterFor(this.jsonEnabled()),
    })
    if (!this.jsonEnabled()) {
      print(result.destroyed ? `Cluster ${result.cluster} destroyed: nothing left running, state removed. The spec stays; \`kctl init\` recreates the cluster.` : `Cluster ${result.cluster} has nothing to destroy on this machine.`)
    }
    return result
  }
}
