import {Flags} from '@oclif/core'
import {BaseCommand} from '../kit/base-command.js'
import {print} from '../kit/output.js'
import {reporterFor, hostFlags, specFlag} from '../kit/flags.js'
import {scale, type ScaleResult} from '../services/scale.js'

export class Scale extends BaseCommand {
  static override summary = 'Add or remove data planes (hybrid) or nodes (distributed), in kctl.yaml and in the running cluster.'
  static override description = `Edits kctl.yaml (its comments kept): new nodes copy the last one of their role with the next name and free ports; removed nodes are the last ones. Then new nodes are started (a data plane until it is in sync), removed ones drained, stopped and forgotten, and a removed data plane's row is dropped from the control plane's /clustering/data-planes.
--json: {"cluster", "added", "removed", "nodes"}.`

  static override examples = ['<%= config.bin %> scale --data-planes 4', '<%= config.bin %> scale --nodes 3']
  static override flags = {
    spec: specFlag, ...hostFlags,
    'data-planes': Flags.integer({description: 'Hybrid: how many data planes the cluster should have.', min: 1, max: 50, env: 'KCTL_DATA_PLANES'}),
    nodes: Flags.integer({description: 'Distributed: how many nodes the cluster should have.', min: 1, max: 50, env: 'KCTL_NODES'}),
  }

  async run(): Promise<ScaleResult> {
    const {flags} = await this.parse(Scale)
    const result = await scale({specPath: flags.spec, stateRoot: this.stateRoot, dataPlanes: flags['data-planes'], nodes: flags.nodes, report: reporterFor(this.jsonEnabled())})
    if (!this.jsonEnabled()) {
      if (!result.added.length && !result.removed.length) print(`Nothing to change: ${result.nodes.join(', ')}.`)
      else {
        if (result.added.length) print(`Added: ${result.added.join(', ')}`)
        if (result.removed.length) print(`Removed: ${result.removed.join(', ')}`)
        print(`Now: ${result.nodes.join(', ')}`)
      }
    }
    return result
  }
}
