import {Flags} from '@oclif/core'
import {BaseCommand} from '../kit/base-command.js'
import {reporterFor, yesFlag} from '../kit/flags.js'
import {print, stderrReporter} from '../kit/output.js'
import {adminFlags, allowEmptyFlag, filesArg, inputLimitFlags, inputLimits, selectTagFlag} from '../declarative/cli-flags.js'
import {syncReport} from '../declarative/render.js'
import {apply} from '../services/apply.js'
import {massDeleteNotice, type SyncResult} from '../services/diff.js'

export class Apply extends BaseCommand {
  static override summary = 'Make the gateway equal to the declarative files (in one transaction on a kctl node).'
  static override description = `Makes the gateway equal to the files: creates, updates and deletes in one Postgres transaction on the node (POST /kctl/sync: all or nothing, one change notification, so data planes receive one new configuration); against a DB-less node, one POST /config; against another Kong, entity by entity through its Admin API in foreign-key order, as decK does (not one transaction: a failure in the middle lists what was applied and exits 1). Before anything, the target must answer GET / as a Kong Admin API. Files are Kong's kong.yaml format, as for \`kctl validate\`.
An edit made on the gateway between the diff and the write is detected and nothing is applied. The first apply to a gateway that deletes asks on a terminal (--yes skips it; without a terminal and without --yes it refuses). --select-tag manages only entities with that tag and adds it to those it creates. When the connection fails after the change was sent and before its answer, the outcome is unknown: exit 3; \`kctl diff\` with the same files tells.
Prints the changes decK-style and a Summary; --json: {"changes": [{"op", "kind", "id", "name", "fields"?}], "summary": {"created", "updated", "deleted"}, "warnings", "applied", "transactional"}.`

  static override examples = [
    {description: 'Make the gateway of ./kctl.yaml equal to kong.yaml', command: '<%= config.bin %> apply kong.yaml'},
    {description: 'Show what would change without writing', command: '<%= config.bin %> apply kong.yaml --dry-run'},
    {description: 'Merge several files; do not ask before deleting', command: '<%= config.bin %> apply a.yaml b.yaml --yes'},
    {description: 'Manage only the entities tagged team-a, on any Kong-compatible Admin API', command: '<%= config.bin %> apply team-a.yaml --select-tag team-a --admin-url http://127.0.0.1:8001'},
  ]
  static override strict = false
  static override args = filesArg
  static override flags = {
    ...adminFlags,
    ...selectTagFlag,
    ...inputLimitFlags,
    ...allowEmptyFlag,
    'dry-run': Flags.boolean({description: 'Show the changes without writing them (same as `kctl diff`).', env: 'KCTL_DRY_RUN'}),
    yes: yesFlag,
  }

  async run(): Promise<SyncResult> {
    const {argv, flags} = await this.parse(Apply)
    const {result, plan} = await apply({
      files: argv as string[],
      selectTags: flags['select-tag'],
      limits: inputLimits(flags),
      allowEmpty: flags['allow-empty'],
      adminUrl: flags['admin-url'],
      specPath: flags.spec,
      stateRoot: this.stateRoot,
      dryRun: flags['dry-run'],
      yes: flags.yes,
      report: reporterFor(this.jsonEnabled()),
    })
    if (!this.jsonEnabled()) {
      for (const w of result.warnings) stderrReporter.warn(w)
      for (const line of syncReport(plan.events, [plan.target.state, plan.current], plan.secrets, result.summary, massDeleteNotice(result, plan.selectTags))) print(line)
    }
    return result
  }
}
