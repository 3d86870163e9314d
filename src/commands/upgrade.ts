import {Flags} from '@oclif/core'
import {BaseCommand} from '../kit/base-command.js'
import {namesSummary, print} from '../kit/output.js'
import {reporterFor, specFlag} from '../kit/flags.js'
import {upgrade, type UpgradeResult} from '../services/upgrade.js'

export class Upgrade extends BaseCommand {
  static override summary = "Move every node to this kctl's runtime without refusing a connection (--rollback: back to the previous one)."
  static override description = `Installs this kctl's runtime next to the one the nodes run, runs the pending migrations (refused, naming them, when one is not backward compatible while nodes of the old version run), then moves the control planes and then the other nodes one at a time: each hands its listening sockets to a process of the new version, ready and, a data plane, in sync before the next. Stopped nodes start on the new version with \`kctl start\`. --rollback moves each node back to the version it ran before, the same way (migrations are not undone).
--json: {"cluster", "rollback", "to", "migrations", "upgraded", "not_running", "unchanged"}.`

  static override examples = ['<%= config.bin %> upgrade', '<%= config.bin %> upgrade --rollback']
  static override flags = {
    spec: specFlag,
    rollback: Flags.boolean({description: 'Move each node back to the version it ran before its last upgrade.', env: 'KCTL_UPGRADE_ROLLBACK'}),
  }

  async run(): Promise<UpgradeResult> {
    const {flags} = await this.parse(Upgrade)
    const result = await upgrade({specPath: flags.spec, stateRoot: this.stateRoot, rollback: flags.rollback, report: reporterFor(this.jsonEnabled())})
    if (!this.jsonEnabled()) {
      const moved = result.upgraded.length + result.not_running.length > 0
      const nothing = `Every node runs kctl ${result.to}'s runtime and the database is up to date: nothing to upgrade.`
      if (result.migrations.length) print(`Migrations: ${result.migrations.join(', ')}`)
      const lines = namesSummary([[`On kctl ${result.to}`, result.upgraded], [`Stopped, start on kctl ${result.to}`, result.not_running]], nothing)
      for (const line of moved || !result.migrations.length ? lines : []) print(line)
    }
    return result
  }
}
