/** Cluster name, mode, spec, totals ("2/2 DPs in sync"), database and CP lines, the unreachable banner, and warnings (certificate expiry). */
import {Box, Text} from 'ink'
import {controlPlaneStopped} from '../../services/status/build.js'
import type {StatusResult} from '../../services/status/types.js'
import {clock, duration, shortHash} from '../format.js'
import {totals} from '../rows.js'

export interface HeaderProps {
  status: StatusResult
  now: number
  color: boolean
}

export function Header({status, now, color}: HeaderProps) {
  const db = status.database
  const reach = Object.entries(db.reachable).map(([n, ok]) => `${n} ${ok === null ? '?' : ok ? '✓' : '✗'}`).join(' ')
  const cp = status.control_plane
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        <Text bold>{status.cluster}</Text> ({status.mode}) · {status.spec}
      </Text>
      <Text bold color={color ? (status.healthy ? 'green' : 'red') : undefined} wrap="truncate">
        {status.healthy ? '● healthy' : '● unhealthy'} · {totals(status)}
      </Text>
      <Text dimColor wrap="truncate">
        database {db.kind}
        {db.state ? ` (${db.state})` : ''} {db.address}
        {reach ? ` · reached by: ${reach}` : ''}
        {cp?.reachable ? ` · ${cp.connected_data_planes ?? '?'} DPs connected to ${cp.node}, config ${shortHash(cp.config_hash)}, ping ${cp.ping_interval}s` : ''}
      </Text>
      {cp && !cp.reachable && controlPlaneStopped(status) ? <Text wrap="truncate">control plane {cp.node} is stopped (`kctl start {cp.node}`) — showing the last known state</Text> : null}
      {cp && !cp.reachable && !controlPlaneStopped(status) ? <Banner node={cp.node} since={cp.unreachable_since} error={cp.error} now={now} color={color} /> : null}
      {status.warnings.map((w) => (
        <Text key={w} color={color ? 'yellow' : undefined} wrap="truncate">
          warning: {w}
        </Text>
      ))}
    </Box>
  )
}

export interface BannerProps {
  node: string
  since: number | null
  error: string | null
  now: number
  color: boolean
}

export function Banner({node, since, error, now, color}: BannerProps) {
  const when = since === null ? '' : ` since ${clock(since)} (${duration(now - since)})`
  return (
    <Box borderStyle="round" borderColor={color ? 'red' : undefined} paddingX={1}>
      <Text color={color ? 'red' : undefined} wrap="truncate">
        CONTROL PLANE {node} UNREACHABLE{when}: {error ?? 'no answer'} — showing the last known state; retrying
      </Text>
    </Box>
  )
}
