import {Flags} from '@oclif/core'
import {BaseCommand} from '../kit/base-command.js'
import {yesFlag} from '../kit/flags.js'
import {print, stderrReporter} from '../kit/output.js'
import {adminFlags, allowEmptyFlag, filesArg, selectTagFlag} from '../config/cli-flags.js'
import {syncReport} from '../config/render.js'
import {apply} from '../services/apply.js'
import {massDeleteNotice, type SyncResult} from '../services/diff.js'

export class Apply extends BaseCommand {
  static override summary = 'Make the gateway equal to the declarative files, in one transaction.'
  static override examples = ['<%= config.bin %> apply kong.yaml', '<%= config.bin %> apply kong.yaml --dry-run', '<%= config.bin %> apply a.yaml b.yaml --yes']
  static override strict = false
  static override args = filesArg
  static override flags = {
    ...adminFlags,
    ...selectTagFlag,
    ...allowEmptyFlag,
    'dry-run': Flags.boolean({description: 'Show the changes without writing them (same as `kctl diff`).', env: 'KCTL_DRY_RUN'}),
    yes: yesFlag,
  }

  async run(): Promise<SyncResult> {
    const {argv, flags} = await this.parse(Apply)
    const {result, plan} = await apply({
      files: argv as string[],
      selectTags: flags['select-tag'],
      allowEmpty: flags['allow-empty'],
      adminUrl: flags['admin-url'],
      specPath: flags.spec,
      stateRoot: this.stateRoot,
      dryRun: flags['dry-run'],
      yes: flags.yes,
    })
    if (!this.jsonEnabled()) {
      for (const w of result.warnings) stderrReporter.warn(w)
      for (const line of syncReport(plan.events, [plan.target.state, plan.current], plan.secrets, result.summary, massDeleteNotice(result, plan.selectTags))) print(line)
    }
    return result
  }
}
