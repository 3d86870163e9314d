import {BaseCommand} from '../kit/base-command.js'
import {hostFlags, specFlag} from '../kit/flags.js'
import {print, table} from '../kit/output.js'
import {hosts, type HostRow, type HostsResult} from '../services/hosts.js'

export class Hosts extends BaseCommand {
  static override summary = 'List the machines the cluster runs on: this one and each host of the spec.'
  static override description = `One row per host: this machine (local) first, then each of spec.hosts, with its address, whether kctl reached it, OS/arch, Node version, hostname, what kctl installed there (its versions, the current one marked *), and what the spec runs there (postgres: the embedded database). Without a kctl.yaml, this machine only.
--json: {"cluster", "hosts": [{"name", "address", "local", "reachable", "error", "os", "arch", "node_version", "hostname", "systemd", "nodes", "installed": {"path", "current", "versions"} | null}]} (reachable null: not checked).`

  static override examples = [
    {description: 'The hosts of ./kctl.yaml', command: '<%= config.bin %> hosts'},
    {description: 'The hosts as JSON, e.g. the ones not reached', command: '<%= config.bin %> hosts --json | jq \'.hosts[] | select(.reachable != true)\''},
  ]

  static override flags = {spec: specFlag, ...hostFlags}

  async run(): Promise<HostsResult> {
    const {flags} = await this.parse(Hosts)
    const result = await hosts({specPath: flags.spec, stateRoot: this.stateRoot})
    if (!this.jsonEnabled()) {
      const reach = (r: boolean | null) => (r === null ? 'not checked' : r ? 'yes' : 'no')
      const rows = result.hosts.map((h) => [h.name, h.address, reach(h.reachable), h.os ? `${h.os}/${h.arch}` : '-', h.node_version ?? '-', installedText(h.installed), h.nodes.join(', ') || '-'])
      if (result.cluster) print(`cluster ${result.cluster}`)
      print(table(['NAME', 'ADDRESS', 'REACHABLE', 'OS/ARCH', 'NODE', 'INSTALLED', 'NODES'], rows))
      for (const h of result.hosts) if (h.error) print(`${h.name}: ${h.error}`)
    }
    return result
  }
}

/** `0.2.0*, 0.1.0`: the versions installed, the current one starred; `-` for none. */
function installedText(i: HostRow['installed']): string {
  if (!i || i.versions.length === 0) return '-'
  return [...i.versions].reverse().map((v) => (v === i.current ? `${v}*` : v)).join(', ')
}
