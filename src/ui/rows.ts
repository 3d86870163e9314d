/**
 * Pure: a status result → table rows (cells with tones), header totals, filtering and
 * sorting. The dashboard and the plain output both render these rows.
 */
import type {DataPlaneStatus, NodeStatus, StatusResult} from '../services/status/types.js'
import {certExpiry, clock, duration, labelsText, nodeState, relativeTime, shortHash, SYNC_LABEL, SYNC_TONE, TONE_RANK, type Cell} from './format.js'

export interface Row {
  /** Stable across refreshes: `node:<name>` or `dp:<id>`. */
  key: string
  /** Display name, for sorting and events. */
  name: string
  cells: Cell[]
  /** For sorting by "last seen": epoch seconds, larger is more recent. */
  seen: number
  /** For sorting by state: worst first. */
  rank: number
}

export const NODE_COLUMNS = ['NAME', 'ROLE', 'HOST', 'PID', 'STATE', 'UPTIME', 'RESTARTS', 'CONFIG', 'LISTEN']
export const DP_COLUMNS = ['NAME', 'HOSTNAME', 'IP', 'VERSION', 'HASH', 'SYNC', 'CP', 'LAST SEEN', 'CERT', 'LABELS']

function listenText(listen: NodeStatus['listen']): string {
  return Object.entries(listen).map(([k, v]) => `${k} ${v}`).join('; ') || '-'
}

/** CONFIG column: the hash for CP/DP nodes, the configuration version for traditional ones. */
function configCell(n: NodeStatus): Cell {
  if (n.config_hash) return {text: shortHash(n.config_hash)}
  if (n.config_version) return {text: `v${n.config_version}`}
  return {text: '-', tone: 'muted'}
}

export function nodeRow(n: NodeStatus, now: number): Row {
  const state = nodeState(n)
  return {
    key: `node:${n.name}`,
    name: n.name,
    seen: n.started_at ?? 0,
    rank: TONE_RANK[state.tone ?? 'normal'],
    cells: [
      {text: n.name},
      {text: n.role},
      {text: n.host},
      {text: n.pid === null ? '-' : String(n.pid)},
      state,
      {text: n.started_at === null ? '-' : duration(now - n.started_at)},
      n.restarts === null ? {text: '-', tone: 'muted'} : {text: String(n.restarts), tone: n.restarts > 0 ? 'warn' : undefined},
      configCell(n),
      {text: listenText(n.listen)},
    ],
  }
}

export function dataPlaneRow(d: DataPlaneStatus, now: number): Row {
  return {
    key: `dp:${d.id}`,
    name: d.node ?? d.hostname,
    seen: d.last_seen,
    rank: TONE_RANK[SYNC_TONE[d.sync]],
    cells: [
      d.node ? {text: d.node} : {text: `${d.id.slice(0, 8)} (not in kctl.yaml)`, tone: 'warn'},
      {text: d.hostname},
      {text: d.ip},
      {text: d.version},
      {text: shortHash(d.config_hash)},
      {text: d.sync === 'incompatible' ? `incompatible (${d.sync_status})` : SYNC_LABEL[d.sync], tone: SYNC_TONE[d.sync]},
      d.control_plane ? {text: d.control_plane} : {text: '-', tone: 'muted'},
      {text: relativeTime(d.last_seen, now)},
      certExpiry(d.cert_expiry, now),
      {text: labelsText(d.labels)},
    ],
  }
}

export const nodeRows = (s: StatusResult, now: number): Row[] => s.nodes.map((n) => nodeRow(n, now))
export const dataPlaneRows = (s: StatusResult, now: number): Row[] => s.data_planes.map((d) => dataPlaneRow(d, now))

export const SORTS = ['name', 'state', 'last seen'] as const
export type SortKey = (typeof SORTS)[number]

export const nextSort = (s: SortKey): SortKey => SORTS[(SORTS.indexOf(s) + 1) % SORTS.length]

export function sortRows(rows: Row[], by: SortKey): Row[] {
  const byName = (a: Row, b: Row) => a.name.localeCompare(b.name)
  const cmp = by === 'name' ? byName : by === 'state' ? (a: Row, b: Row) => a.rank - b.rank || byName(a, b) : (a: Row, b: Row) => b.seen - a.seen || byName(a, b)
  return [...rows].sort(cmp)
}

/** Rows any of whose cells contains `text` (case-insensitive); empty text keeps all. */
export function filterRows(rows: Row[], text: string): Row[] {
  const t = text.trim().toLowerCase()
  if (!t) return rows
  return rows.filter((r) => r.cells.some((c) => c.text.toLowerCase().includes(t)))
}

/** "3/3 nodes running · 2/3 DPs in sync · config 4f2a9c1e". */
export function totals(s: StatusResult): string {
  const parts = [`${s.nodes.filter((n) => n.state === 'running' && n.reachable).length}/${s.nodes.length} nodes running`]
  if (s.mode === 'hybrid') {
    parts.push(`${s.data_planes.filter((d) => d.sync === 'in_sync').length}/${s.data_planes.length} DPs in sync`)
    if (s.control_plane) parts.push(`CP config ${shortHash(s.control_plane.config_hash)}`)
  }
  return parts.join(' · ')
}

/** Label/value pairs of everything known about a row, for the details view. */
/** `12:03:04 killed by SIGKILL` */
export const lastCrashText = (c: {at: number; cause: string}): string => `${clock(c.at)} ${c.cause}`

export function detailsOf(s: StatusResult, key: string): [string, string][] {
  const flat = (o: object): [string, string][] =>
    Object.entries(o).map(([k, v]) => [k, v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v)])
  if (key.startsWith('node:')) {
    const n = s.nodes.find((x) => `node:${x.name}` === key)
    const dp = n ? s.data_planes.find((d) => d.node === n.name) : undefined
    const crash: [string, string][] = n?.last_crash ? [['last_crash', lastCrashText(n.last_crash)]] : []
    return n ? [...flat(n).filter(([k]) => k !== 'last_crash'), ...crash, ...(dp ? flat({dp_id: dp.id, sync: dp.sync, sync_status: dp.sync_status, last_seen: dp.last_seen}) : [])] : []
  }
  const d = s.data_planes.find((x) => `dp:${x.id}` === key)
  return d ? flat(d) : []
}

/** At most `max` rows, scrolled so the selected one is visible; `above`/`below` count the hidden. */
export function windowRows(rows: Row[], selected: string | null, max: number): {rows: Row[]; above: number; below: number} {
  if (rows.length <= max) return {rows, above: 0, below: 0}
  const at = Math.max(0, rows.findIndex((r) => r.key === selected))
  const start = Math.min(Math.max(0, at - Math.floor(max / 2)), rows.length - max)
  return {rows: rows.slice(start, start + max), above: start, below: rows.length - start - max}
}

/** Splits the screen lines left for table rows between the nodes and the DPs tables. */
export function rowBudget(lines: number, nodes: number, dps: number): {nodes: number; dps: number} {
  const total = Math.max(4, lines)
  if (nodes + dps <= total) return {nodes, dps}
  const n = Math.min(nodes, Math.max(2, dps ? Math.floor(total / 3) : total))
  return {nodes: n, dps: Math.max(2, total - n)}
}
