import {BaseCommand} from '../kit/base-command.js'
import {hostFlags, specFlag} from '../kit/flags.js'
import {print, table} from '../kit/output.js'
import {preflight, preflightError, type PreflightResult} from '../services/preflight.js'

export class Preflight extends BaseCommand {
  static override summary = 'Check every host of the spec before kctl installs or starts anything there.'
  static override description = `Per host, in parallel: SSH reachable and authenticated; Linux on x64 or arm64; Node 20.18+ present or uploadable; free disk for the install; every port the spec gives that host free there; clock within 30 s of this machine. This machine (local) gets the port check. \`kctl init\` runs the same checks and stops before changing anything when one fails. Exit status 1 when a check failed.
--json: {"cluster", "ok", "hosts": [{"name", "address", "local", "ok", "checks": [{"host", "check", "ok", "found", "fix"?, "code"?}]}]}.`

  static override examples = [
    {description: 'Check the hosts of ./kctl.yaml', command: '<%= config.bin %> preflight'},
    {description: 'Record the host keys of hosts never connected to, then check', command: '<%= config.bin %> preflight --accept-new-host-keys'},
    {description: 'Only the failed checks', command: "<%= config.bin %> preflight --json | jq '.hosts[].checks[] | select(.ok | not)'"},
  ]

  static override flags = {spec: specFlag, ...hostFlags}

  async run(): Promise<PreflightResult> {
    const {flags} = await this.parse(Preflight)
    const result = await preflight({specPath: flags.spec, stateRoot: this.stateRoot})
    if (!this.jsonEnabled()) {
      const rows = result.hosts.flatMap((h) => h.checks.map((c) => [h.name, c.check, c.ok ? 'ok' : 'FAILED', c.found]))
      print(`cluster ${result.cluster}`)
      print(table(['HOST', 'CHECK', 'RESULT', 'FOUND'], rows))
    }
    // A failed check: the same error init stops with (exit 1); with --json the result is the error's details.
    const err = preflightError(result, flags.spec, 'kctl preflight')
    if (err) throw err
    return result
  }
}
