import {BaseCommand} from '../kit/base-command.js'
import {print, table} from '../kit/output.js'
import {specFlag} from '../kit/flags.js'
import {nodes, type NodesResult} from '../services/nodes.js'

export class Nodes extends BaseCommand {
  static override summary = 'List the processes of the cluster (database included): role, pid, state, kctl version, listeners.'
  static override description = `One row per process, database included: name, role, host, pid, state (running, stopped, failed), the kctl release whose runtime the node runs (\`kctl upgrade\` changes it) and listeners.
--json: {"cluster", "mode", "nodes": [{"name", "role", "host", "pid", "state", "listen": {"proxy"?, "admin"?, "cluster"?, "status"?}, "kctl_version"}]}.`

  static override examples = ['<%= config.bin %> nodes', '<%= config.bin %> nodes --json']
  static override flags = {spec: specFlag}

  async run(): Promise<NodesResult> {
    const {flags} = await this.parse(Nodes)
    const result = await nodes({specPath: flags.spec, stateRoot: this.stateRoot})
    if (!this.jsonEnabled()) {
      const rows = result.nodes.map((n) => [n.name, n.role, n.host, n.pid === null ? '-' : String(n.pid), n.state, n.kctl_version ?? '-', Object.entries(n.listen).map(([k, v]) => `${k} ${v}`).join('; ') || '-'])
      print(`cluster ${result.cluster} (${result.mode})`)
      print(table(['NAME', 'ROLE', 'HOST', 'PID', 'STATE', 'VERSION', 'LISTEN'], rows))
    }
    return result
  }
}
