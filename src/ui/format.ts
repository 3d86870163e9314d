/** Pure text and tone for status values: relative times, durations, hashes, expiry, states. */
import type {SyncState} from '../services/status/types.js'

/** How a value should look; components map tones to colours, plain output ignores them. */
export type Tone = 'good' | 'warn' | 'bad' | 'muted' | 'normal'

export interface Cell {
  text: string
  tone?: Tone
}

/** "now", "3s ago", "5m ago", "2h ago", "4d ago" (future times read as "now"). */
export function relativeTime(then: number, now: number): string {
  const s = Math.floor(now) - Math.floor(then)
  if (s <= 0) return 'now'
  if (s < 60) return `${s}s ago`
  if (s < 3600) return `${Math.floor(s / 60)}m ago`
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`
  return `${Math.floor(s / 86_400)}d ago`
}

/** "42s", "5m 3s", "2h 5m", "3d 4h". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`
}

/** The first 8 hex digits, as `git` shortens: enough to tell configurations apart. */
export const shortHash = (hash: string | null | undefined): string => (hash ? hash.slice(0, 8) : '-')

const DAY = 86_400

/** "in 1094 days", "in 5 hours", "expired 3 days ago"; amber under 30 days, red under 7. */
export function certExpiry(expiry: number | null, now: number): Cell {
  if (expiry === null) return {text: '-', tone: 'muted'}
  const left = expiry - now
  const tone: Tone = left < 7 * DAY ? 'bad' : left < 30 * DAY ? 'warn' : 'normal'
  if (left <= 0) return {text: `expired ${plural(Math.floor(-left / DAY), 'day')} ago`, tone}
  if (left < DAY) return {text: `in ${plural(Math.floor(left / 3600), 'hour')}`, tone}
  return {text: `in ${plural(Math.floor(left / DAY), 'day')}`, tone}
}

export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

export const SYNC_LABEL: Record<SyncState, string> = {in_sync: 'in sync', behind: 'behind', stale: 'stale', incompatible: 'incompatible'}
export const SYNC_TONE: Record<SyncState, Tone> = {in_sync: 'good', behind: 'warn', stale: 'bad', incompatible: 'bad'}

/** Worst first, for sorting by state. */
export const TONE_RANK: Record<Tone, number> = {bad: 0, warn: 1, muted: 2, normal: 3, good: 4}

/** A node's state word and tone: running+ready good, running but not answering/ready amber. */
export function nodeState(n: {state: string; reachable: boolean; ready: boolean | null}): Cell {
  if (n.state === 'failed') return {text: 'failed', tone: 'bad'}
  if (n.state === 'stopped') return {text: 'stopped', tone: 'muted'}
  if (!n.reachable) return {text: 'unreachable', tone: 'bad'}
  if (n.ready === false) return {text: 'not ready', tone: 'warn'}
  return {text: 'running', tone: 'good'}
}

export const labelsText = (labels: Record<string, string>): string =>
  Object.entries(labels)
    .map(([k, v]) => `${k}:${v}`)
    .join(',') || '-'

/** The legend shown under the dashboard: what each colour means. */
export const LEGEND: {tone: Tone; text: string}[] = [
  {tone: 'good', text: 'running / in sync'},
  {tone: 'warn', text: 'behind / not ready / cert < 30 days'},
  {tone: 'bad', text: 'failed / stale / unreachable / cert < 7 days'},
  {tone: 'muted', text: 'stopped'},
]

/** `HH:MM:SS` local time, for "since" lines. */
export function clock(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toTimeString().slice(0, 8)
}
