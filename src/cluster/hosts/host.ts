/**
 * A host is a machine that runs nodes: this one, or another one reached over SSH. Every
 * node-side operation (launch, liveness, signals, files, logs, ports, installs) goes through
 * this interface, so the launcher, the phases, preflight, `nodes`, `status`, `logs` and
 * `destroy` work the same for a node here and a node on another machine.
 *
 *   spec.hosts[] ──▶ hostFor(spec, node) ──▶ LocalHost (this machine)
 *                                        └─▶ SshHost   (system `ssh`, one master connection)
 *
 * Rules every implementation keeps:
 * - A process is identified by pid + start time + command line (ProcessIdentity); nothing is
 *   signalled unless `isSameProcess` holds at the moment of the signal.
 * - Paths are absolute paths on that host. kctl writes only under its own directories there.
 * - Failures are ExternalErrors naming the host, what was tried and what to do.
 */
import type {ProcessIdentity} from '../../kit/process.js'

export interface HostCommandResult {
  exitCode: number
  stdout: string
  stderr: string
}

export interface HostRunOptions {
  /** Written to the command's stdin. */
  input?: string | Buffer
  cwd?: string
  env?: Record<string, string>
  timeoutMs?: number
  signal?: AbortSignal
  /** Default true: a non-zero exit throws (ExternalError naming the host and command). */
  reject?: boolean
}

export interface HostSpawnOptions {
  /** stdout and stderr are appended here (on the host). */
  logFile: string
  cwd?: string
  env?: Record<string, string>
  /** Run as this unprivileged user (kctl acting as root there), e.g. the embedded Postgres's. */
  runAs?: {user: string; uid: number; gid: number}
}

export interface HostWriteOptions {
  /** File mode, e.g. 0o600 for keys. */
  mode?: number
}

/** A stream of lines from a file on the host; `close` ends it (and the follow, if any). */
export interface HostTail extends AsyncIterable<string> {
  close(): Promise<void>
}

/** What a host is: for `kctl hosts` and preflight. */
export interface HostFacts {
  os: string
  arch: string
  /** `node --version` on the host, or undefined when it has none. */
  nodeVersion?: string
  /** True when PID 1 is systemd. */
  systemd: boolean
  hostname: string
}

/** A local folder and where it goes below a copy's destination (`.`: the destination itself). */
export interface TreePart {
  from: string
  to: string
}

export interface Host {
  /** The spec's name for it (`local` for this machine when the spec names none). */
  readonly name: string
  /** The address other hosts reach it at (this machine: 127.0.0.1). */
  readonly address: string
  /** True for this machine. */
  readonly isLocal: boolean

  facts(): Promise<HostFacts>

  /** Runs a program to completion. */
  run(file: string, args: string[], options?: HostRunOptions): Promise<HostCommandResult>
  /**
   * Starts a long-lived program detached from kctl (own session, stdin closed, output
   * appended to `logFile`) and returns its identity without waiting. One that exited at once
   * gets an identity no process matches.
   */
  spawnDetached(file: string, args: string[], options: HostSpawnOptions): Promise<ProcessIdentity>

  /** How a process `spawnDetached` started here ended ("exit code 1", "signal SIGKILL"), when this host can tell. */
  exitOf?(pid: number): string | undefined

  /** The live process with this pid, or undefined. */
  processIdentity(pid: number): Promise<ProcessIdentity | undefined>
  /** True when the recorded process is still the one running (pid, start, command line). */
  isSameProcess(recorded: ProcessIdentity | undefined): Promise<boolean>
  /** Sends `sig` only if the recorded process is still the one running; whether it was sent. */
  signal(recorded: ProcessIdentity, sig: NodeJS.Signals): Promise<boolean>
  /** `first`, then SIGKILL after `graceMs`; nothing sent to a process that is not the recorded one. */
  terminate(recorded: ProcessIdentity, first: NodeJS.Signals, graceMs: number): Promise<'gone' | 'signalled' | 'killed'>

  /** The file's bytes, or undefined when it does not exist. */
  readFile(path: string): Promise<Buffer | undefined>
  /** Writes atomically (temp file + rename), creating parent folders. */
  writeFile(path: string, data: string | Buffer, options?: HostWriteOptions): Promise<void>
  mkdir(path: string, options?: HostWriteOptions): Promise<void>
  exists(path: string): Promise<boolean>
  /** Removes a file or a folder tree; nothing when absent. */
  remove(path: string): Promise<void>
  /**
   * Lines of a file (without their newline): the last `lines` (0: every line), then, while
   * `follow`, each line appended later. Throws when the file does not exist.
   */
  tail(path: string, options: {lines: number; follow: boolean}): Promise<HostTail>
  /**
   * Copies a local folder to `dest` on the host, or several, each to its place below `dest`
   * (one listing and one stream for all of them). Files whose size and sha256 already match
   * are skipped; returns the bytes actually sent.
   */
  copyTree(source: string | readonly TreePart[], dest: string): Promise<{bytesSent: number}>

  /** True when nothing listens on `address:port` on the host and it can be bound. */
  portFree(address: string, port: number): Promise<boolean>
  /**
   * A `host:port` on this machine that reaches `address:port` as seen from the host (this
   * machine: the same; SSH: a port forwarded over the master connection, kept until close).
   */
  reach(address: string, port: number): Promise<{host: string; port: number}>

  /** Ends what this object opened (SSH master connection, forwards, tails). */
  close(): Promise<void>
}
