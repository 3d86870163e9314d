import {BaseCommand} from '../kit/base-command.js'
import {print} from '../kit/output.js'
import {canPrompt, confirm} from '../kit/prompt.js'
import {reporterFor, specFlag, yesFlag} from '../kit/flags.js'
import {destroy, type DestroyResult} from '../services/destroy.js'

export class Destroy extends BaseCommand {
  static override summary = 'Stop every process of the cluster and delete its state and data (kctl.yaml stays).'
  static override examples = ['<%= config.bin %> destroy', '<%= config.bin %> destroy --yes']
  static override flags = {yes: yesFlag, spec: specFlag}

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
