import {BaseCommand} from '../kit/base-command.js'
import {yesFlag} from '../kit/flags.js'
import {print, stderrReporter} from '../kit/output.js'
import {adminFlags, selectTagFlag} from '../declarative/cli-flags.js'
import {syncReport} from '../declarative/render.js'
import {reset} from '../services/reset.js'
import type {SyncResult} from '../services/diff.js'

export class Reset extends BaseCommand {
  static override summary = 'Delete every entity from the gateway (or those with --select-tag), in one transaction on a kctl node.'
  static override description = `Deletes every entity from the gateway, or only those with --select-tag, in one transaction on a kctl node (entity by entity on another Kong). Asks on a terminal; without one it refuses unless --yes.`

  static override examples = [
    {description: 'Delete everything, without asking', command: '<%= config.bin %> reset --yes'},
    {description: 'Delete only what is tagged team-a', command: '<%= config.bin %> reset --select-tag team-a --yes'},
  ]
  static override flags = {...adminFlags, ...selectTagFlag, yes: yesFlag}

  async run(): Promise<SyncResult> {
    const {flags} = await this.parse(Reset)
    const {result, events, current} = await reset({adminUrl: flags['admin-url'], specPath: flags.spec, stateRoot: this.stateRoot, selectTags: flags['select-tag'], yes: flags.yes, reporter: stderrReporter})
    if (!this.jsonEnabled()) {
      for (const line of syncReport(events, [current], [], result.summary)) print(line)
    }
    return result
  }
}
