import {Flags} from '@oclif/core'
import {BaseCommand} from '../kit/base-command.js'
import {print} from '../kit/output.js'
import {canPrompt, input, select} from '../kit/prompt.js'
import {reporterFor, specFlag, yesFlag} from '../kit/flags.js'
import {MODES, type Mode} from '../cluster/spec.js'
import {init, type InitResult} from '../services/init.js'

export class Init extends BaseCommand {
  static override summary = 'Create a cluster (spec, database, migrations, nodes) and start it.'
  static override description = 'Writes ./kctl.yaml from a template unless it exists, then brings the cluster up. Running it again on a running cluster changes nothing.'
  static override examples = ['<%= config.bin %> init', '<%= config.bin %> init --name shop --yes', '<%= config.bin %> init --database postgres://kong:secret@db:5432/kong', '<%= config.bin %> init --dry-run']

  static override flags = {
    mode: Flags.option({options: MODES, description: 'Deployment mode (only embedded for now).', env: 'KCTL_MODE'})(),
    name: Flags.string({description: 'Cluster name (default: demo).', env: 'KCTL_NAME'}),
    database: Flags.string({description: 'Use this Postgres server instead of the embedded one.', env: 'KCTL_DATABASE', helpValue: 'postgres://…'}),
    'dry-run': Flags.boolean({description: 'Show the phases and what they would do; change nothing.', env: 'KCTL_DRY_RUN'}),
    yes: yesFlag,
    spec: specFlag,
  }

  async run(): Promise<InitResult> {
    const {flags} = await this.parse(Init)
    const ask = canPrompt() && !flags.yes && !this.jsonEnabled()
    const result = await init({
      specPath: flags.spec,
      stateRoot: this.stateRoot,
      mode: flags.mode as Mode | undefined,
      name: flags.name,
      databaseUrl: flags.database,
      dryRun: flags['dry-run'],
      ask: ask ? {mode: (i) => select('Deployment mode', [...MODES], i) as Promise<Mode>, name: (i) => input('Cluster name', i)} : undefined,
      report: reporterFor(this.jsonEnabled()),
    })
    if (!this.jsonEnabled()) render(result)
    return result
  }
}

function render(r: InitResult): void {
  if (r.plan) {
    for (const p of r.plan) print(`${p.title}\n${p.actions.map((a) => `  - ${a}`).join('\n') || '  (nothing to do)'}`)
    return
  }
  print(r.alreadyRunning ? `Cluster ${r.cluster} is already running; nothing changed.` : `Cluster ${r.cluster} is up (${r.mode}).`)
  print(`  Proxy:     ${r.endpoints.proxy ?? '-'}`)
  print(`  Admin API: ${r.endpoints.admin ?? '-'}`)
  print(`  Database:  ${r.database}`)
  print(`  Spec:      ${r.spec}`)
  print('Next: kctl nodes | kctl logs node-1 -f | kctl stop | kctl destroy')
}
