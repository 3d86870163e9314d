import {Flags} from '@oclif/core'
import {BaseCommand} from '../kit/base-command.js'
import {print, table} from '../kit/output.js'
import {reporterFor} from '../kit/flags.js'
import {genCert, MTLS_MODES, type CertFiles, type GenCertResult, type MtlsMode} from '../services/gen-cert.js'

export class GenCert extends BaseCommand {
  static override summary = 'Generate the certificates of a hybrid cluster (as kong hybrid gen_cert).'
  static override description = `--mtls shared (default): one self-signed certificate, CN=kong_clustering, EC P-384, that every control plane and data plane presents; written to --cert/--key (both or neither; default ./cluster.crt and ./cluster.key).
--mtls pki: a CA and one certificate per node under --out DIR (default ./cluster-pki): ca.crt, ca.key, <node>.crt, <node>.key. --nodes lists NAME:ROLE (cp gets serverAuth, dp gets clientAuth); every node certificate has the node name, localhost, 127.0.0.1, ::1 and each --san as subjectAltNames.
Certificates are written 0644, keys 0600. Existing files are never overwritten unless --force.`

  static override examples = [
    '<%= config.bin %> gen-cert',
    '<%= config.bin %> gen-cert --days 365 --cert /etc/kong/cluster.crt --key /etc/kong/cluster.key',
    '<%= config.bin %> gen-cert --mtls pki --out pki --nodes cp-1:cp,dp-1:dp,dp-2:dp --san 10.0.0.5',
  ]

  static override flags = {
    days: Flags.integer({description: 'Validity in days.', default: 1095, min: 1, max: 36_500, env: 'KCTL_DAYS'}),
    cert: Flags.string({description: 'Certificate path (with --key). Default: ./cluster.crt.', env: 'KCTL_CERT', helpValue: 'PATH'}),
    key: Flags.string({description: 'Private key path (with --cert). Default: ./cluster.key.', env: 'KCTL_KEY', helpValue: 'PATH'}),
    force: Flags.boolean({description: 'Replace files that already exist.', env: 'KCTL_FORCE'}),
    mtls: Flags.option({options: MTLS_MODES, default: 'shared' as MtlsMode, description: 'shared: one certificate for all nodes; pki: a CA and per-node certificates.', env: 'KCTL_MTLS'})(),
    out: Flags.string({description: 'pki: directory for ca.* and <node>.* (default ./cluster-pki).', env: 'KCTL_PKI_DIR', helpValue: 'DIR'}),
    nodes: Flags.string({description: 'pki: nodes as NAME:ROLE, comma-separated; ROLE is cp or dp (default cp-1:cp,dp-1:dp,dp-2:dp).', env: 'KCTL_PKI_NODES', helpValue: 'LIST'}),
    san: Flags.string({description: 'pki: extra DNS names or IPs for every node certificate, comma-separated.', env: 'KCTL_PKI_SANS', helpValue: 'LIST'}),
  }

  async run(): Promise<GenCertResult> {
    const {flags} = await this.parse(GenCert)
    const result = await genCert({
      days: flags.days,
      mtls: flags.mtls,
      certPath: flags.cert,
      keyPath: flags.key,
      outDir: flags.out,
      nodes: flags.nodes === undefined ? undefined : [flags.nodes],
      sans: flags.san === undefined ? undefined : [flags.san],
      force: flags.force,
      cwd: process.cwd(),
      report: reporterFor(this.jsonEnabled()),
    })
    if (!this.jsonEnabled()) render(result)
    return result
  }
}

function render(r: GenCertResult): void {
  const pairs: [string, CertFiles][] = 'ca' in r ? [['ca', r.ca], ...r.nodes.map((n): [string, CertFiles] => [`${n.name} (${n.role})`, n])] : [['cluster', r]]
  print(table(['FOR', 'CERTIFICATE', 'KEY', 'EXPIRES'], pairs.map(([name, f]) => [name, f.cert, f.key, f.expires_at])))
  if (!('ca' in r)) print(`SHA-256 fingerprint: ${r.fingerprint_sha256}`)
}
