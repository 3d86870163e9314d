import {Flags} from '@oclif/core'
import {resolve} from 'node:path'
import {BaseCommand} from '../kit/base-command.js'
import {print} from '../kit/output.js'
import {canPrompt, input, select} from '../kit/prompt.js'
import {reporterFor, hostFlags, specFlag, yesFlag} from '../kit/flags.js'
import {MODES, MTLS_MODES, NAME_RE, type Mode, type MtlsMode} from '../cluster/spec.js'
import {UserError} from '../kit/errors.js'
import {init, type InitResult} from '../services/init.js'

const portFlag = (what: string, env: string) => Flags.integer({description: `New spec: the ${what}`, min: 1, max: 65535, env, helpValue: 'PORT'})

export class Init extends BaseCommand {
  static override summary = 'Create a cluster (spec, certificates, database, migrations, nodes) and start it.'
  static override description = `Writes ./kctl.yaml from a template unless it exists, then runs the phases: preflight (ports free), certificates (hybrid: generated into the cluster's state directory, or --cert/--key used as the shared certificate), database, migrations, start nodes (control planes first), wait for /status/ready; hybrid: start the data planes and wait until each reports the control plane's configuration hash. Prints the endpoints.
On a terminal it asks for the mode and name; without one (or with CI set) it uses the defaults (embedded, demo). Running it again on a running cluster says so and changes nothing; on a partly stopped one, or after nodes were added to the spec, it starts what is missing. Nodes taken out of the spec are named and left alone; --prune drains, stops and removes them (as \`kctl scale\`). --database postgres://… uses your server instead of the embedded one. --dry-run lists the phases and what they would do.
--data-planes, --nodes and --mtls apply to one mode each. --json: {"cluster", "mode", "spec", "already_running", "spec_created", "endpoints", "proxies", "database", "removed", "not_in_spec", "plan"?}.`

  static override examples = [
    {description: 'Embedded: Postgres and one node', command: '<%= config.bin %> init'},
    {description: 'Hybrid: a control plane and 3 data planes, a CA and a certificate per node', command: '<%= config.bin %> init --mode hybrid --data-planes 3 --mtls pki'},
    {description: 'Distributed: 3 nodes sharing one Postgres', command: '<%= config.bin %> init --mode distributed --nodes 3'},
    {description: 'On your own Postgres server', command: '<%= config.bin %> init --database postgres://kong:secret@db:5432/kong'},
    {description: 'Show the phases without doing anything', command: '<%= config.bin %> init --dry-run'},
    {description: 'After editing kctl.yaml: start the nodes it adds, remove the ones it no longer has', command: '<%= config.bin %> init --prune'},
  ]

  static override flags = {
    mode: Flags.option({options: MODES, description: 'Deployment mode (default embedded).', env: 'KCTL_MODE'})(),
    name: Flags.custom<string>({description: 'Cluster name: lowercase letters, digits and dashes (default: demo).', env: 'KCTL_NAME', parse: async (input) => checkedName(input)})(),
    database: Flags.string({description: 'Use this Postgres server instead of the embedded one.', env: 'KCTL_DATABASE', helpValue: 'postgres://…'}),
    'data-planes': Flags.integer({description: 'hybrid: number of data planes (default 2).', min: 1, max: 50, env: 'KCTL_DATA_PLANES'}),
    nodes: Flags.integer({description: 'distributed: number of traditional nodes (default 2).', min: 1, max: 50, env: 'KCTL_NODES'}),
    mtls: Flags.option({options: MTLS_MODES, description: 'hybrid: shared (one certificate, default) or pki (a CA and one per node).', env: 'KCTL_MTLS'})(),
    cert: Flags.string({description: 'hybrid, shared: use this cluster certificate (with --key) instead of generating one.', dependsOn: ['key'], env: 'KCTL_CERT', helpValue: 'FILE'}),
    key: Flags.string({description: 'hybrid, shared: the key of --cert.', dependsOn: ['cert'], env: 'KCTL_KEY', helpValue: 'FILE'}),
    adopt: Flags.boolean({description: 'Bind the existing cluster of this name to this spec (after moving or renaming the spec it was created from).', env: 'KCTL_ADOPT'}),
    prune: Flags.boolean({description: 'Remove the nodes kctl.yaml no longer has: drained, stopped, forgotten (a data plane\'s row leaves the control plane\'s list).', env: 'KCTL_PRUNE'}),
    'proxy-port': portFlag('proxy (HTTP) port of the first node; later nodes add 100 (default 8000).', 'KCTL_PROXY_PORT'),
    'proxy-ssl-port': portFlag('proxy (HTTPS) port of the first node; later nodes add 100 (default 8443).', 'KCTL_PROXY_SSL_PORT'),
    'admin-port': portFlag('Admin API port of the first node with one; later ones add 100 (default 8001).', 'KCTL_ADMIN_PORT'),
    'status-port': portFlag('status port of the first node; later nodes add 100 (default 8007).', 'KCTL_STATUS_PORT'),
    'dry-run': Flags.boolean({description: 'Show the phases and what they would do; change nothing.', env: 'KCTL_DRY_RUN'}),
    yes: yesFlag,
    spec: specFlag, ...hostFlags,
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
      adopt: flags.adopt,
      prune: flags.prune,
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
  print(r.already_running ? `Cluster ${r.cluster} is already running; nothing changed.` : `Cluster ${r.cluster} is up (${r.mode}).`)
  if (r.removed.length) print(`  Removed:   ${r.removed.join(', ')} (no longer in the spec)`)
  for (const p of r.proxies.length ? r.proxies : [{node: '', url: '-'}]) print(`  Proxy:     ${p.url}${r.proxies.length > 1 ? ` (${p.node})` : ''}`)
  print(`  Admin API: ${r.endpoints.admin ?? '-'}`)
  print(`  Database:  ${r.database}`)
  print(`  Spec:      ${r.spec}`)
  print('Next: kctl nodes | kctl logs <node> -f | kctl stop | kctl destroy')
}

/** @throws UserError USAGE (exit 2) */
function checkedName(input: string): string {
  if (!NAME_RE.test(input)) throw new UserError('USAGE', `must be lowercase letters, digits and dashes, at most 63 characters (got '${input}').`, {hint: 'For example --name demo-2.'})
  return input
}
