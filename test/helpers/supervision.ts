/**
 * A node's supervisor seen from a test: its record (`<prefix>/supervisor.json`), and a
 * reload (SIGHUP) or handover (SIGUSR2) sent to it, awaited until the record answers it.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import type {SupervisionRecord} from '../../src/runtime/supervisor/record.js'
import {until} from './until.js'

export const supervisionRecord = (prefix: string): SupervisionRecord => JSON.parse(readFileSync(join(prefix, 'supervisor.json'), 'utf8'))

/** Signals the supervisor `pid` of the node at `prefix`; resolves with the record once it recorded the outcome. */
export async function signalSupervisor(prefix: string, pid: number, signal: 'SIGHUP' | 'SIGUSR2'): Promise<SupervisionRecord> {
  const asked = Date.now()
  process.kill(pid, signal)
  const field = signal === 'SIGHUP' ? 'last_reload' : 'last_handover'
  return until(`the ${signal === 'SIGHUP' ? 'reload' : 'handover'} to finish`, () => {
    const r = supervisionRecord(prefix)
    const answer = r[field]
    return answer && answer.at >= asked ? r : undefined
  })
}
