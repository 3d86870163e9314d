/**
 * `<prefix>/supervisor.json`: what the supervisor tells whoever reads the node's prefix
 * (kctl status, kctl nodes), including after it gave up and exited. Written whole to a
 * temp file and renamed, so a reader never sees half of it.
 *
 *   {pid, serving_pid, spare_pid, state: running|failed|stopped, restarts, last_crash: {at, cause}|null,
 *    failure: null|string, reloads, last_reload: {at, ok, error}|null,
 *    last_handover: {at, ok, pid, error}|null, entry, updated_at}
 *
 * `<prefix>/supervisor.pid`: the pid of the supervisor that owns the node, alone on a line,
 * for a service manager (a systemd unit's `PIDFile=`). A handover's new supervisor writes it
 * before the old one exits, so systemd follows the node to it instead of ending the unit.
 */
import {mkdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import type {LastCrash, LastHandover, LastReload} from './protocol.js'

export interface SupervisionRecord {
  /** The supervisor's pid: the node's pid. */
  pid: number
  /** The serving process now (null between two, and once stopped or failed). */
  serving_pid: number | null
  /** A warm spare standing by, its code loaded (null: none yet; absent: a runtime without spares). */
  spare_pid?: number | null
  state: 'running' | 'failed' | 'stopped'
  /** Serving processes started after a crash, since the supervisor started. */
  restarts: number
  last_crash: LastCrash | null
  /** Why the supervisor gave up (state failed). */
  failure: string | null
  /** Reloads that replaced the serving process, since the supervisor started. */
  reloads: number
  /** The latest reload's outcome; `at` is when it was asked for (ms). */
  last_reload: LastReload | null
  /**
   * The latest handover to a new supervisor: a failed one is written by the supervisor that
   * keeps running; a successful one by the new supervisor, whose pid is then `pid`.
   */
  last_handover: LastHandover | null
  /** The runtime entry (main.js) its serving process runs (absent: a runtime older than upgrades). */
  entry?: string
  /** Epoch seconds. */
  updated_at: number
}

export const RECORD_FILE = 'supervisor.json'

export function recordPath(prefix: string): string {
  return join(prefix, RECORD_FILE)
}

export const PID_FILE = 'supervisor.pid'

export function pidFilePath(prefix: string): string {
  return join(prefix, PID_FILE)
}

/** Writes `text` to `file` whole (a temp file renamed over it): a reader never sees half of it. */
function writeWhole(file: string, text: string): void {
  mkdirSync(dirname(file), {recursive: true})
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, text, {mode: 0o644})
  renameSync(tmp, file)
}

export function writeRecord(prefix: string, record: SupervisionRecord): void {
  writeWhole(recordPath(prefix), JSON.stringify(record) + '\n')
}

/** This process owns the node from now on: `<prefix>/supervisor.pid` says so. */
export function writePidFile(prefix: string): void {
  writeWhole(pidFilePath(prefix), `${process.pid}\n`)
}

/** Removes `<prefix>/supervisor.pid` if it still names this process (a stopped node has none). */
export function removePidFile(prefix: string): void {
  const file = pidFilePath(prefix)
  try {
    if (Number(readFileSync(file, 'utf8').trim()) === process.pid) rmSync(file, {force: true})
  } catch {
    // none
  }
}

/** The record, or null when there is none or it does not parse. */
export function readRecord(prefix: string): SupervisionRecord | null {
  try {
    return parseRecord(readFileSync(recordPath(prefix), 'utf8'))
  } catch {
    return null
  }
}

/** A record's text (as read from wherever the node runs), or null when it does not parse. */
export function parseRecord(text: string): SupervisionRecord | null {
  try {
    const r = JSON.parse(text)
    return r && typeof r === 'object' && typeof r.pid === 'number' ? (r as SupervisionRecord) : null
  } catch {
    return null
  }
}
