import {Flags} from '@oclif/core'
import {BaseCommand} from '../../kit/base-command.js'
import {print} from '../../kit/output.js'
import {reporterFor, specFlag} from '../../kit/flags.js'
import {rotateCertificates, type CertsRotateResult} from '../../services/certs-rotate.js'

export class CertsRotate extends BaseCommand {
  static override summary = 'Issue new cluster certificates and roll them out without refusing a data plane.'
  static override description = `Hybrid clusters whose certificates kctl generated (mtls shared or pki). The new certificates are issued, then rolled out with \`kctl reload\`'s socket handover: control planes first trust the old and the new certificates, data planes move to the new one one at a time, then control planes and data planes drop the old one. A run that stops part way is finished by running the command again.
--json: {"cluster", "mtls", "previous": {"expires_at", "fingerprint_sha256"}, "current": {…}, "reloaded", "not_running"}.`

  static override examples = ['<%= config.bin %> certs rotate', '<%= config.bin %> certs rotate --days 365']
  static override flags = {
    spec: specFlag,
    days: Flags.integer({description: 'Validity of the new certificates in days (default: spec.certificates.days, else 1095).', min: 1, max: 36_500, env: 'KCTL_DAYS'}),
  }

  async run(): Promise<CertsRotateResult> {
    const {flags} = await this.parse(CertsRotate)
    const result = await rotateCertificates({specPath: flags.spec, stateRoot: this.stateRoot, days: flags.days, report: reporterFor(this.jsonEnabled())})
    if (!this.jsonEnabled()) {
      print(`Rotated the ${result.mtls === 'pki' ? 'cluster CA and node certificates' : 'cluster certificate'} of ${result.cluster}: valid until ${result.current.expires_at} (was ${result.previous.expires_at}).`)
      if (result.reloaded.length) print(`Reloaded: ${result.reloaded.join(', ')}`)
      if (result.not_running.length) print(`Not running (they start with the new certificates): ${result.not_running.join(', ')}`)
    }
    return result
  }
}
