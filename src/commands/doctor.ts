import {BaseCommand} from '../kit/base-command.js'
import {hostFlags, specFlag} from '../kit/flags.js'
import {print} from '../kit/output.js'
import {doctor, type DoctorResult} from '../services/doctor.js'

export class Doctor extends BaseCommand {
  static override summary = 'Check this machine (and the cluster of kctl.yaml, when it runs) and say what to fix.'
  static override description = `Checks what kctl init needs (Node version, Postgres binaries, the Postgres system user when run as root, disk space, the spec's ports free) and, when the cluster runs, its database, processes and endpoints. Without a kctl.yaml, only this machine. Exits 0 when every check passes, 1 otherwise.`
  static override examples = [
    {description: 'Check this machine and the cluster of ./kctl.yaml', command: '<%= config.bin %> doctor'},
    {description: 'Only the failing checks, as JSON: {"checks": [{"name", "ok", "detail", "fix"}], "ok"}', command: '<%= config.bin %> doctor --json | jq \'.checks[] | select(.ok | not)\''},
  ]
  static override flags = {spec: specFlag, ...hostFlags}

  async run(): Promise<DoctorResult> {
    const {flags} = await this.parse(Doctor)
    const result = await doctor({specPath: flags.spec, stateRoot: this.stateRoot})
    if (!this.jsonEnabled()) print(render(result))
    if (!result.ok) process.exitCode = 1
    return result
  }
}

function render(r: DoctorResult): string {
  const width = Math.max(...r.checks.map((c) => c.name.length))
  const lines = r.checks.flatMap((c) => [`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(width)}  ${c.detail}`, ...(c.fix ? [`      ${' '.repeat(width)}  fix: ${c.fix}`] : [])])
  const failed = r.checks.filter((c) => !c.ok).length
  return [...lines, '', failed ? `${failed} check${failed === 1 ? '' : 's'} failed.` : 'All checks passed.'].join('\n')
}
