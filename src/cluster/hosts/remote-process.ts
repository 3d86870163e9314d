/**
 * POSIX sh scripts that start, identify and signal processes through a Linux host's /proc,
 * and the parsing of what they print. Identities come out in src/kit/process.ts's format
 * (pid, `<boot id>:<starttime>`, command line), so a process recorded on a host compares
 * the same way as one recorded here.
 *
 *   spawnScript  → "<pid>\n<ident line>"   (the session returns at once: setsid, stdin /dev/null, output to the log)
 *   identScript  → "<ident line>" or nothing when the pid is gone
 *   signalScript → exit 0 sent, exit 3 not the recorded process (nothing sent)
 */
import {identityFromProc, type ProcessIdentity} from '../../kit/process.js'
import {commandLine, exportLines, shellQuote} from './ssh-options.js'

/** Prints `<boot id>|<base64 stat>|<base64 cmdline>` for pid $1, nothing when it is gone. */
const IDENT_FN = `ident() { s=$(base64 -w0 /proc/$1/stat 2>/dev/null) || return 0; c=$(base64 -w0 /proc/$1/cmdline 2>/dev/null); printf '%s|%s|%s\\n' "$(cat /proc/sys/kernel/random/boot_id)" "$s" "$c"; }`

export interface SpawnScriptOptions {
  logFile: string
  cwd?: string
  /** Added to the host's environment. */
  env?: Record<string, string>
  /** Run as this user (setpriv, no fork: the pid is the program's). */
  runAs?: {uid: number; gid: number}
}

/**
 * Starts `file args` detached. A background job of a non-interactive shell is no group
 * leader, so setsid needs no fork: `$!` is the program's pid once setsid has exec'd it
 * (waited for below, at most 5 s). stdin from /dev/null and output appended to the log leave
 * the SSH session nothing to wait for (a `cmd &` that kept the session's stdout would).
 */
export function spawnScript(file: string, args: string[], options: SpawnScriptOptions): string {
  const log = shellQuote(options.logFile)
  return [
    IDENT_FN,
    options.cwd ? `cd -- ${shellQuote(options.cwd)} || exit 127` : '',
    `mkdir -p -- "$(dirname -- ${log})" || exit 126`,
    exportLines(options.env),
    `setsid ${asUser(options.runAs)}${commandLine(file, args)} </dev/null >>${log} 2>&1 &`,
    // until the program runs: not the shell's own copy before exec, nor setsid or setpriv, nor
    // the moment inside an exec when the new image has no arguments yet (an empty cmdline)
    'p=$!; i=0; me=$(tr \'\\0\' \' \' </proc/$$/cmdline)',
    `while [ $i -lt 100 ] && [ -e /proc/$p ]; do case "$(tr '\\0' ' ' </proc/$p/cmdline 2>/dev/null)" in ""|"setsid "*|"setpriv "*|"$me") sleep 0.05; i=$((i+1));; *) break;; esac; done`,
    'echo "$p"; ident "$p"',
  ].join('\n')
}

const asUser = (runAs: SpawnScriptOptions['runAs']): string => {
  if (!runAs) return ''
  if (!Number.isInteger(runAs.uid) || !Number.isInteger(runAs.gid)) throw new TypeError(`not a uid/gid: ${runAs.uid}/${runAs.gid}`)
  return `setpriv --reuid=${runAs.uid} --regid=${runAs.gid} --clear-groups -- `
}

/** The identity a spawnScript printed; one no process matches when the program exited at once. */
export function parseSpawned(out: string): ProcessIdentity {
  const [pidLine, ident] = out.split('\n')
  const pid = Number(pidLine)
  return parseIdent(pid, ident) ?? {pid, start: 'exited', command: ''}
}

export function identScript(pid: number): string {
  return `${IDENT_FN}\nident ${pid}`
}

/** The identity an identScript printed, undefined for a process gone or a zombie. */
export function parseIdent(pid: number, line: string | undefined): ProcessIdentity | undefined {
  const [boot, stat, cmdline] = (line ?? '').trim().split('|')
  if (!boot || !stat) return undefined
  return identityFromProc(pid, boot, Buffer.from(stat, 'base64').toString(), Buffer.from(cmdline ?? '', 'base64').toString())
}

/**
 * Sends `sig` to the recorded process only if its start (boot id + start time) is still the
 * recorded one, checked in the same script as the kill, so a pid handed to another process
 * meanwhile is spared. Exit 3: nothing sent.
 */
export function signalScript(recorded: ProcessIdentity, sig: NodeJS.Signals): string {
  if (!Number.isInteger(recorded.pid) || recorded.pid <= 0) throw new TypeError(`not a pid: ${recorded.pid}`)
  if (!/^SIG[A-Z0-9]+$/.test(sig)) throw new TypeError(`not a signal name: ${sig}`)
  return [
    `s=$(cat /proc/${recorded.pid}/stat 2>/dev/null) || exit 3`,
    'b=$(cat /proc/sys/kernel/random/boot_id); s=${s##*) }; set -- $s',
    `[ "$1" != Z ] && [ "$b:\${20}" = ${shellQuote(recorded.start)} ] || exit 3`,
    `kill -s ${sig.replace(/^SIG/, '')} ${recorded.pid} 2>/dev/null || exit 3`,
  ].join('\n')
}
