/**
 * Facts about processes. A pid alone is not an identity: once a process is gone (or after
 * a reboot) the system gives its pid to someone else. A process kctl launched is recorded
 * as a ProcessIdentity (pid + start time + command line), and every later check or signal
 * goes through `isSameProcess`, so kctl never reports, signals or kills a stranger.
 *
 *   launch → processIdentity(pid) → state.json
 *   status / stop / destroy → isSameProcess(recorded) ? running, may signal : gone, nothing sent
 */
import {execFileSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'

/** What tells one process from another that later gets the same pid. */
export interface ProcessIdentity {
  pid: number
  /**
   * When it started. Linux: `<boot id>:<starttime>` (field 22 of /proc/<pid>/stat, clock
   * ticks since boot; the boot id tells reboots apart). Elsewhere: `ps -o lstart`.
   */
  start: string
  /** Its command line, arguments joined by spaces. */
  command: string
}

/** A ProcessIdentity without its pid, as stored next to a pid. */
export type ProcessStamp = Omit<ProcessIdentity, 'pid'>

let hasProc: boolean | undefined
let bootId: string | undefined

/** The live process with this pid, or undefined when there is none (or only a zombie). */
export function processIdentity(pid: number | undefined): ProcessIdentity | undefined {
  if (!pid || pid <= 0 || !Number.isInteger(pid)) return undefined
  hasProc ??= existsSync('/proc/self/stat')
  return hasProc ? procIdentity(pid) : psIdentity(pid)
}

function procIdentity(pid: number): ProcessIdentity | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    bootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    return identityFromProc(pid, bootId, stat, readFileSync(`/proc/${pid}/cmdline`, 'utf8'))
  } catch {
    return undefined
  }
}

/**
 * The identity told by Linux's /proc texts of a process (`stat`, `cmdline`) and the boot id,
 * read here or on another host; undefined for a zombie or an unreadable `stat`.
 */
export function identityFromProc(pid: number, bootId: string, stat: string, cmdline: string): ProcessIdentity | undefined {
  // Fields after the ")" that closes the command name: state is field 3, starttime field 22.
  const close = stat.lastIndexOf(')')
  if (close < 0) return undefined
  const fields = stat.slice(close + 2).split(' ')
  if (fields[0] === 'Z' || fields[0] === 'X' || fields[19] === undefined) return undefined
  return {pid, start: `${bootId.trim()}:${fields[19]}`, command: cmdline.split('\0').filter(Boolean).join(' ')}
}

/** Without /proc (macOS): `ps -o lstart=,command= -p PID` (start to the second, full command). */
export function psIdentity(pid: number): ProcessIdentity | undefined {
  let out: string
  try {
    out = execFileSync('ps', ['-o', 'lstart=,command=', '-p', String(pid)], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: {...process.env, LC_ALL: 'C'}})
  } catch {
    return undefined // ps exits 1 when there is no such process
  }
  const m = /^\s*(\S+\s+\S+\s+\d+\s+[\d:]+\s+\d+)\s+(.*)$/.exec(out.split('\n')[0] ?? '')
  if (!m || /<defunct>|^\((.*)\)$/.test(m[2].trim())) return undefined
  return {pid, start: m[1].replace(/\s+/g, ' '), command: m[2].trim()}
}

/**
 * The identity of a process just launched: read at once, or, when it already exited, one
 * that no process matches (so it is reported gone and never signalled). With `command` (the
 * program and arguments it was started with), a command line read before the new program
 * replaced the forked one is read again, for up to a second, so that the identity recorded
 * is the program's own.
 */
export async function launchedIdentity(pid: number, command?: string): Promise<ProcessIdentity> {
  let id = processIdentity(pid)
  for (let waited = 0; id && command !== undefined && id.command !== command && waited < 1000; waited += 10) {
    await new Promise((r) => setTimeout(r, 10))
    id = processIdentity(pid)
  }
  return id ?? {pid, start: 'exited', command: ''}
}

/** True when the recorded process is still running: same pid, same start, same command line. */
export function isSameProcess(recorded: ProcessIdentity | undefined): boolean {
  if (!recorded) return false
  const now = processIdentity(recorded.pid)
  return now !== undefined && now.start === recorded.start && now.command === recorded.command
}

/**
 * True when `pid` exists and is not a zombie. Only for a pid that cannot have been handed
 * to someone else yet (a child of this process, a /proc entry just listed); a pid read from
 * state goes through `isSameProcess`.
 */
export function isAlive(pid: number | undefined): boolean {
  return processIdentity(pid) !== undefined
}

/** Sends `sig` if the recorded process is still the one running. Returns whether it was sent. */
export function signalProcess(recorded: ProcessIdentity, sig: NodeJS.Signals): boolean {
  if (!isSameProcess(recorded)) return false
  try {
    process.kill(recorded.pid, sig)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
    return false
  }
}

/** Waits until the recorded process is gone; resolves true if it went within `timeoutMs`. */
export async function waitForExit(recorded: ProcessIdentity, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (isSameProcess(recorded)) {
    if (Date.now() > deadline) return false
    await sleep(50)
  }
  return true
}

/**
 * Stops the recorded process: `first` signal, then after `graceMs` SIGKILL. Resolves when it
 * is gone. Nothing is sent to a process that is not the recorded one.
 * Returns how it ended: 'gone' (was not running), 'signalled' or 'killed'.
 */
export async function terminate(recorded: ProcessIdentity, first: NodeJS.Signals, graceMs: number): Promise<'gone' | 'signalled' | 'killed'> {
  if (!signalProcess(recorded, first)) return 'gone'
  if (await waitForExit(recorded, graceMs)) return 'signalled'
  signalProcess(recorded, 'SIGKILL')
  await waitForExit(recorded, 5000)
  return 'killed'
}
