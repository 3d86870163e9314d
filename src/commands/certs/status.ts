import {BaseCommand} from '../../kit/base-command.js'
import {print, table} from '../../kit/output.js'
import {specFlag} from '../../kit/flags.js'
import {certsStatus, type CertsStatusResult} from '../../services/certs-status.js'

export class CertsStatus extends BaseCommand {
  static override summary = 'List every certificate the cluster uses, with its expiry.'
  static override description = `The hybrid cluster certificate (mtls shared) or the CA and each node's certificate (mtls pki), and the proxy certificates the spec's conf names (ssl_cert): subject, file, expiry, days left. Each one that expires within 30 days is warned about with what to run (\`kctl certs rotate\` for the certificates kctl generated).
--json: {"cluster", "mtls", "rotation_in_progress", "certificates": [{"kind", "node", "file", "generated", "subject", "expires_at", "days_left", "fingerprint_sha256", "error"}], "warn_days", "warnings"}.`

  static override examples = ['<%= config.bin %> certs status', '<%= config.bin %> certs status --json']
  static override flags = {spec: specFlag}

  async run(): Promise<CertsStatusResult> {
    const {flags} = await this.parse(CertsStatus)
    const result = await certsStatus({specPath: flags.spec, stateRoot: this.stateRoot})
    if (!this.jsonEnabled()) {
      if (result.certificates.length === 0) print(`Cluster ${result.cluster} uses no certificate file (hybrid clusters have cluster certificates; proxy ones come from ssl_cert in kctl.yaml's conf).`)
      else {
        const rows = result.certificates.map((c) => [c.kind, c.node ?? '(all)', c.subject ?? '-', c.expires_at ?? `unreadable: ${c.error}`, c.days_left === null ? '-' : String(c.days_left), c.file])
        print(table(['KIND', 'NODE', 'SUBJECT', 'EXPIRES', 'DAYS LEFT', 'FILE'], rows))
      }
      for (const w of result.warnings) print(`warning: ${w}`)
    }
    return result
  }
}
