/**
 * The one wrapper for subprocesses. `run` awaits a command through execa (abort signal,
 * failures wrapped with the command, exit code and stderr); `spawnDetached` starts a
 * long-lived server in its own process group with its output appended to a log file, so
 * it survives the CLI exiting.
 */
import {spawn} from 'node:child_process'
import {closeSync, openSync} from 'node:fs'
import {execa} from 'execa'
import {ExternalError, tail, type ErrorCode} from './errors.js'

export interface RunOptions {
  cwd?: string
  env?: Record<string, string | undefined>
  /** Run as this user (root only). */
  uid?: number
  gid?: number
  signal?: AbortSignal
  timeoutMs?: number
  /** Error code used when the command fails. */
  code?: ErrorCode
  /** Prefix of the error message, e.g. "initdb failed". */
  what?: string
  /** Written to the command's stdin (default: none, stdin ignored). */
  input?: string | Buffer
  /** Default true: a failure throws. False: a non-zero exit is returned in `exitCode`. */
  reject?: boolean
}

export interface RunResult {
  stdout: string
  stderr: string
  /** 0 unless `reject: false` and the command failed (-1 when it exited by a signal or could not start). */
  exitCode: number
}

/** Runs a command to completion. Throws ExternalError naming the command, exit code and stderr. */
export async function run(file: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const result = await execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    uid: options.uid,
    gid: options.gid,
    cancelSignal: options.signal,
    timeout: options.timeoutMs,
    forceKillAfterDelay: 2000,
    reject: false,
    ...(options.input === undefined ? {stdin: 'ignore' as const} : {input: options.input}),
  })
  if (result.failed && options.reject === false && !result.timedOut && !result.isCanceled) {
    return {stdout: String(result.stdout), stderr: String(result.stderr), exitCode: result.exitCode ?? -1}
  }
  if (result.failed) {
    const output = tail(`${result.stderr}\n${result.stdout}`.trim(), 20)
    const why = result.timedOut ? 'timed out' : result.exitCode === undefined ? (result.signal ?? result.shortMessage) : `exit code ${result.exitCode}`
    throw new ExternalError(
      options.code ?? 'COMMAND_FAILED',
      `${options.what ?? 'command failed'}: ${[file, ...args].join(' ')} (${why})${output ? `\n${output}` : ''}`,
      output,
    )
  }
  return {stdout: String(result.stdout), stderr: String(result.stderr), exitCode: 0}
}

export interface DetachedOptions {
  /** Output (stdout and stderr) is appended here. */
  logFile: string
  cwd?: string
  env?: Record<string, string | undefined>
  uid?: number
  gid?: number
}

/** How detached processes this one started ended, by pid (while this process runs). */
const detachedExits = new Map<number, string>()

/** How a process `spawnDetached` started ended ("exit code 1", "signal SIGKILL"); undefined while it runs or when unknown. */
export function detachedExit(pid: number): string | undefined {
  return detachedExits.get(pid)
}

/** Starts a detached process (own process group, no stdin) and returns its pid without waiting. */
export function spawnDetached(file: string, args: string[], options: DetachedOptions): number {
  const fd = openSync(options.logFile, 'a')
  try {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env as NodeJS.ProcessEnv | undefined,
      uid: options.uid,
      gid: options.gid,
      detached: true,
      stdio: ['ignore', fd, fd],
    })
    // Spawn failures (ENOENT, EACCES) surface as an 'error' event; the caller sees the
    // process missing and reports the log, so only keep the process from crashing here.
    child.on('error', () => {})
    child.on('exit', (code, signal) => {
      if (child.pid) detachedExits.set(child.pid, signal ? `signal ${signal}` : `exit code ${code}`)
    })
    child.unref()
    if (!child.pid) throw new ExternalError('COMMAND_FAILED', `could not start ${file}`)
    return child.pid
  } finally {
    closeSync(fd)
  }
}
