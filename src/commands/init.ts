import {Flags} from '@oclif/core'
import {resolve} from 'node:path'
import {BaseCommand} from '../kit/base-command.js'
import {print} from '../kit/output.js'
import {canPrompt, input, select} from '../kit/prompt.js'
import {reporterFor, specFlag, yesFlag} from '../kit/flags.js'
import {MODES, MTLS_MODES, type Mode, type MtlsMode} from '../cluster/spec.js'
import {init, type InitResult} from '../services/init.js'

const portFlag = (what: string, env: string) => Flags.integer({description: `New spec: the ${what}`, min: 1, max: 65535, env, helpValue: 'PORT'})

export class Init extends BaseCommand {
  static override summary = 'Create a cluster (spec, certificates, database, migrations, nodes) and start it.'
  static override description = 'Writes ./kctl.yaml from a template unless it exists, then brings the cluster up. Running it again on a running cluster changes nothing.'
  static override examples = ['<%= config.bin %> init', '<%= config.bin %> init --mode hybrid --data-planes 3 --mtls pki', '<%= config.bin %> init --mode distributed --nodes 3', '<%= config.bin %> init --database postgres://kong:secret@db:5432/kong', '<%= config.bin %> init --dry-run']

  static override flags = {
    mode: Flags.option({options: MODES, description: 'Deployment mode (default embedded).', env: 'KCTL_MODE'})(),
    name: Flags.string({description: 'Cluster name (default: demo).', env: 'KCTL_NAME'}),
    database: Flags.string({description: 'Use this Postgres server instead of the embedded one.', env: 'KCTL_DATABASE', helpValue: 'postgres://…'}),
    'data-planes': Flags.integer({description: 'hybrid: number of data planes (default 2).', min: 1, max: 50, env: 'KCTL_DATA_PLANES'}),
    nodes: Flags.integer({description: 'distributed: number of traditional nodes (default 2).', min: 1, max: 50, env: 'KCTL_NODES'}),
    mtls: Flags.option({options: MTLS_MODES, description: 'hybrid: shared (one certificate, default) or pki (a CA and one per node).', env: 'KCTL_MTLS'})(),
    cert: Flags.string({description: 'hybrid, shared: use this cluster certificate (with --key) instead of generating one.', dependsOn: ['key'], env: 'KCTL_CERT', helpValue: 'FILE'}),
    key: Flags.string({description: 'hybrid, shared: the key of --cert.', dependsOn: ['cert'], env: 'KCTL_KEY', helpValue: 'FILE'}),
    'proxy-port': portFlag('proxy (HTTP) port of the first node; later nodes add 100 (default 8000).', 'KCTL_PROXY_PORT'),
    'proxy-ssl-port': portFlag('proxy (HTTPS) port of the first node; later nodes add 100 (default 8443).', 'KCTL_PROXY_SSL_PORT'),
    'admin-port': portFlag('Admin API port of the first node with one; later ones add 100 (default 8001).', 'KCTL_ADMIN_PORT'),
    'status-port': portFlag('status port of the first node; later nodes add 100 (default 8007).', 'KCTL_STATUS_PORT'),
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
      dataPlanes: flags['data-planes'],
      nodeCount: flags.nodes,
      mtls: flags.mtls as MtlsMode | undefined,
      ports: {proxy: flags['proxy-port'], proxySsl: flags['proxy-ssl-port'], admin: flags['admin-port'], status: flags['status-port']},
      cert: flags.cert && flags.key ? {cert: resolve(flags.cert), key: resolve(flags.key)} : undefined,
      dryRun: flags['dry-run'],
      ask: ask ? {mode: (i) => select('Deployment mode', [...MODES], i) as Promise<Mode>, name: (i) => input('Cluster name', i)} : undefined,
      report: reporterFor(this.jsonEnabled()),
    })
    if (!this.jsonEnabled()) render(result)
    return result
  }
}

function render(r: InitResult): void {
  if (r.plan) return print(r.plan.map((p) => `${p.title}\n${p.actions.map((a) => `  - ${a}`).join('\n') || '  (nothing to do)'}`).join('\n'))
  print(r.alreadyRunning ? `Cluster ${r.cluster} is already running; nothing changed.` : `Cluster ${r.cluster} is up (${r.mode}).`)
  for (const p of r.proxies.length ? r.proxies : [{node: '', url: '-'}]) print(`  Proxy:     ${p.url}${r.proxies.length > 1 ? ` (${p.node})` : ''}`)
  print(`  Admin API: ${r.endpoints.admin ?? '-'}`)
  print(`  Database:  ${r.database}`)
  print(`  Spec:      ${r.spec}`)
  print('Next: kctl nodes | kctl logs <node> -f | kctl stop | kctl destroy')
}
