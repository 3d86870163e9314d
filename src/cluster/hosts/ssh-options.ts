/**
 * What the system `ssh` is told for one host: the spec's connection settings turned into
 * command-line options, and the quoting that makes an argument list one safe remote
 * command line. Pure functions; nothing here runs ssh.
 */
import {homedir} from 'node:os'
import {join} from 'node:path'
import type {SshSpec} from '../spec-hosts.js'

/** A host's `ssh` entry in the spec (`spec.hosts[].ssh`, with `spec.ssh` defaults merged in). */
/** How to reach a host: its spec entry (`spec.hosts[].ssh`, with `spec.ssh` merged in). */
export type SshTarget = SshSpec

export interface SshConnectOptions {
  /** `--accept-new-host-keys`: a host never seen is trusted and recorded; a changed key is still refused. */
  acceptNewHostKeys?: boolean
  /** Seconds to wait for the TCP connection and the SSH handshake (default 10). */
  connectTimeoutS?: number
  /** How long the master connection outlives its last use, in seconds (default 120), should `close` never run. */
  persistS?: number
}

/** `~/x` → the home folder's x; other paths unchanged. */
export function expandHome(path: string): string {
  return path === '~' ? homedir() : path.startsWith('~/') ? join(homedir(), path.slice(2)) : path
}

/** The `[user@]host` ssh is given. */
export function destinationOf(target: SshTarget): string {
  const host = target.address ?? target.host
  if (!host) throw new TypeError('an ssh target needs `address` or `host`')
  return host
}

/**
 * Options common to every ssh run for this target: configuration, authentication, host key
 * policy and the shared master connection at `controlPath`. Options given with `-o` win over
 * the config file (ssh takes the first value), so BatchMode and the host key policy hold even
 * when the user's config says otherwise.
 */
export function sshOptions(target: SshTarget, controlPath: string, options: SshConnectOptions = {}): string[] {
  const args: string[] = []
  if (target.configFile) args.push('-F', expandHome(target.configFile))
  if (target.identityFile) args.push('-i', expandHome(target.identityFile))
  if (target.user) args.push('-l', target.user)
  if (target.port) args.push('-p', String(target.port))
  if (target.knownHostsFile) args.push('-o', `UserKnownHostsFile=${expandHome(target.knownHostsFile)}`)
  args.push(
    '-o', 'BatchMode=yes',
    '-o', `StrictHostKeyChecking=${options.acceptNewHostKeys ? 'accept-new' : 'yes'}`,
    '-o', `ConnectTimeout=${options.connectTimeoutS ?? 10}`,
    '-o', 'ServerAliveInterval=15',
    '-o', 'ServerAliveCountMax=4',
    '-o', 'ControlMaster=auto',
    '-o', `ControlPath=${controlPath}`,
    '-o', `ControlPersist=${options.persistS ?? 120}`,
  )
  return args
}

/** One argument for a POSIX shell: single-quoted, `'` written as `'\''`. */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new TypeError('a shell argument cannot hold a NUL byte')
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`
}

/** A command line for the remote shell that runs exactly `file args` (no expansion, no word splitting). */
export function commandLine(file: string, args: string[]): string {
  return [file, ...args].map(shellQuote).join(' ')
}

/** `export K='v'` lines for the remote shell; names are checked, values quoted. */
export function exportLines(env: Record<string, string> | undefined): string {
  return Object.entries(env ?? {})
    .map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new TypeError(`not an environment variable name: ${k}`)
      return `export ${k}=${shellQuote(v)}\n`
    })
    .join('')
}
