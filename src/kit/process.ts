/** Small, synchronous facts about processes by pid: alive, wait, signal. */
import {readFileSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'

/** True when `pid` exists and is not a zombie (a dead child nobody reaped yet). */
export function isAlive(pid: number | undefined): boolean {
  if (!pid || pid <= 0) return false
  try {
    process.kill(pid, 0)
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state !== 'Z' && state !== 'X'
  } catch {
    // No /proc (macOS): kill(0) succeeding is all we know.
    return true
  }
}

/** Sends a signal, ignoring "no such process". */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
  }
}

/** Waits until `pid` is gone; resolves true if it went within `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false
    await sleep(50)
  }
  return true
}

/**
 * Stops a process: `first` signal, then after `graceMs` SIGKILL. Resolves when it is gone.
 * Returns how it ended: 'gone' (was not running), 'signalled' or 'killed'.
 */
export async function terminate(pid: number, first: NodeJS.Signals, graceMs: number): Promise<'gone' | 'signalled' | 'killed'> {
  if (!isAlive(pid)) return 'gone'
  signal(pid, first)
  if (await waitForExit(pid, graceMs)) return 'signalled'
  signal(pid, 'SIGKILL')
  await waitForExit(pid, 5000)
  return 'killed'
}
