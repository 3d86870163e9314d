/** Pure: what changed between two status results, as event lines ("dp-2 went stale"). */
import {controlPlaneStopped} from '../services/status/build.js'
import type {StatusResult} from '../services/status/types.js'
import {nodeState, shortHash, SYNC_LABEL, SYNC_TONE, type Tone} from './format.js'

export interface StatusEvent {
  /** Increasing id (the store assigns it), the key of `<Static>` items. */
  id: number
  /** Epoch seconds. */
  at: number
  text: string
  tone: Tone
}

export type EventDraft = Omit<StatusEvent, 'id' | 'at'>

const SYNC_VERB: Record<string, string> = {in_sync: 'is in sync', behind: 'fell behind', stale: 'went stale', incompatible: 'is incompatible'}

export function diffEvents(prev: StatusResult | null, next: StatusResult): EventDraft[] {
  if (!prev) return []
  const out: EventDraft[] = []
  const prevNodes = new Map(prev.nodes.map((n) => [n.name, nodeState(n).text]))
  for (const n of next.nodes) {
    const now = nodeState(n)
    const was = prevNodes.get(n.name)
    if (was === undefined) out.push({text: `${n.name} added to the spec`, tone: 'normal'})
    else if (was !== now.text) out.push({text: `${n.name} is ${now.text}`, tone: now.tone ?? 'normal'})
  }
  const pcp = prev.control_plane
  const ncp = next.control_plane
  if (pcp && ncp) {
    if (pcp.reachable && !ncp.reachable && !controlPlaneStopped(next)) out.push({text: `control plane ${ncp.node} unreachable: ${ncp.error}`, tone: 'bad'})
    if (!pcp.reachable && ncp.reachable) out.push({text: `control plane ${ncp.node} answers again`, tone: 'good'})
    if (pcp.config_hash && ncp.config_hash && pcp.config_hash !== ncp.config_hash) out.push({text: `config changed to ${shortHash(ncp.config_hash)}…`, tone: 'normal'})
  }
  const prevDps = new Map(prev.data_planes.map((d) => [d.id, d]))
  for (const d of next.data_planes) {
    const name = d.node ?? d.hostname
    const was = prevDps.get(d.id)
    if (!was) out.push({text: `${name} joined (${SYNC_LABEL[d.sync]})`, tone: SYNC_TONE[d.sync]})
    else if (was.sync !== d.sync) out.push({text: `${name} ${SYNC_VERB[d.sync]}`, tone: SYNC_TONE[d.sync]})
    prevDps.delete(d.id)
  }
  for (const d of prevDps.values()) out.push({text: `${d.node ?? d.hostname} left`, tone: 'warn'})
  return out
}
