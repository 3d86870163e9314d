import {Flags} from '@oclif/core'
import {BaseCommand} from '../kit/base-command.js'
import {print, stderrReporter} from '../kit/output.js'
import {adminFlags, allowEmptyFlag, filesArg, inputLimitFlags, inputLimits, selectTagFlag} from '../declarative/cli-flags.js'
import {syncReport} from '../declarative/render.js'
import {diff, massDeleteNotice, type SyncResult} from '../services/diff.js'

export class Diff extends BaseCommand {
  static override summary = 'Show what `kctl apply` would change on the gateway.'
  static override description = `What \`kctl apply\` would change, decK-style: \`creating service svc1\`, \`updating route r1\` with a field-level diff, \`deleting plugin rate-limiting (global)\`, then Summary: Created: N  Updated: N  Deleted: N. Defaults, set order and absent-vs-null never show as changes. Values substituted from DECK_* variables are masked.
--non-zero-exit-code exits 2 when something would change.`

  static override examples = [
    {description: 'Compare kong.yaml with the gateway of ./kctl.yaml', command: '<%= config.bin %> diff kong.yaml'},
    {description: 'Fail a CI step when the gateway drifted from the files', command: '<%= config.bin %> diff kong.yaml --non-zero-exit-code'},
    {description: 'Against any Kong-compatible Admin API', command: '<%= config.bin %> diff kong.yaml --admin-url http://127.0.0.1:8001'},
  ]
  static override strict = false
  static override args = filesArg
  static override flags = {
    ...adminFlags,
    ...selectTagFlag,
    ...inputLimitFlags,
    ...allowEmptyFlag,
    'non-zero-exit-code': Flags.boolean({description: 'Exit 2 when there are changes.', env: 'KCTL_NON_ZERO_EXIT_CODE'}),
  }

  async run(): Promise<SyncResult> {
    const {argv, flags} = await this.parse(Diff)
    const {result, plan} = await diff({files: argv as string[], selectTags: flags['select-tag'], limits: inputLimits(flags), allowEmpty: flags['allow-empty'], adminUrl: flags['admin-url'], specPath: flags.spec, stateRoot: this.stateRoot})
    if (!this.jsonEnabled()) {
      for (const w of result.warnings) stderrReporter.warn(w)
      for (const line of syncReport(plan.events, [plan.target.state, plan.current], plan.secrets, result.summary, massDeleteNotice(result, plan.selectTags))) print(line)
    }
    if (flags['non-zero-exit-code'] && plan.events.length) {
      // exit() throws before oclif prints the result, so JSON mode prints it here.
      if (this.jsonEnabled()) this.logJson(result)
      this.exit(2)
    }
    return result
  }
}
