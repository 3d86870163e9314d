/**
 * Plain text for a status result: aligned columns, no escape codes. `kctl status` without
 * a TTY, and `kctl status --watch` without one (or with CI set), print this.
 */
import {table} from '../kit/output.js'
import {controlPlaneStopped} from '../services/status/build.js'
import type {StatusResult} from '../services/status/types.js'
import {clock, shortHash} from './format.js'
import {DP_COLUMNS, NODE_COLUMNS, dataPlaneRows, lastCrashText, nodeRows, sortRows, totals} from './rows.js'

function databaseLine(s: StatusResult): string {
  const db = s.database
  const reach = Object.entries(db.reachable)
  const by = reach.map(([n, ok]) => `${n} ${ok === null ? 'unknown' : ok ? 'reaches it' : 'CANNOT reach it'}`).join(', ')
  return `database ${db.kind}${db.state ? ` (${db.state})` : ''} ${db.address}${by ? ` · ${by}` : ''}`
}

function controlPlaneLine(s: StatusResult): string | null {
  const cp = s.control_plane
  if (!cp) return null
  if (controlPlaneStopped(s)) return `control plane ${cp.node} is stopped (\`kctl start ${cp.node}\`; last known state below)`
  if (!cp.reachable) return `control plane ${cp.node} UNREACHABLE since ${cp.unreachable_since === null ? '?' : clock(cp.unreachable_since)}: ${cp.error} (last known state below)`
  return `control plane ${cp.node} · config ${shortHash(cp.config_hash)} · ${cp.connected_data_planes ?? '?'} DPs connected · ping interval ${cp.ping_interval}s`
}

/** The whole block, lines joined with "\n" (no trailing newline). */
export function plainStatus(s: StatusResult, now: number = s.checked_at): string {
  const lines = [`cluster ${s.cluster} (${s.mode}) · spec ${s.spec}`, totals(s), databaseLine(s)]
  const cp = controlPlaneLine(s)
  if (cp) lines.push(cp)
  lines.push('', table(NODE_COLUMNS, nodeRows(s, now).map((r) => r.cells.map((c) => c.text))))
  for (const n of s.nodes) if (n.last_crash) lines.push(`${n.name} last crash ${lastCrashText(n.last_crash)}`)
  if (s.mode === 'hybrid') {
    lines.push('', 'DATA PLANES')
    const rows = sortRows(dataPlaneRows(s, now), 'name')
    lines.push(rows.length ? table(DP_COLUMNS, rows.map((r) => r.cells.map((c) => c.text))) : '(the control plane knows no data plane yet)')
  }
  if (s.warnings.length) lines.push('', ...s.warnings.map((w) => `warning: ${w}`))
  lines.push('', s.healthy ? 'healthy' : `unhealthy: ${s.problems.join('; ')}`)
  return lines.join('\n')
}

/**
 * What must differ for `--watch` without a TTY to print a new block: everything but the
 * times that move on every ping (`last_seen`, `checked_at`).
 */
export function plainChangeKey(s: StatusResult): string {
  return JSON.stringify({...s, checked_at: 0, data_planes: s.data_planes.map((d) => ({...d, last_seen: 0}))})
}
