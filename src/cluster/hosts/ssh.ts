/**
 * A host reached over SSH, through the system OpenSSH client (so ~/.ssh/config, agents,
 * ProxyJump, IdentityFile and known_hosts behave as they do for `ssh` itself).
 *
 *   first run ── ssh … host '<sh script>' (ControlMaster=auto, ControlPersist) ──▶ master connection in
 *      │           the background, socket in a private dir; the others wait for it
 *      │           (refused host key / auth / network → clear errors)
 *      ├── run / files / processes: scripts through shells kept open over the master (ssh-shell.ts)
 *      ├── tail -F: one streamed session, ended by closing its stdin
 *      ├── reach: `ssh -O forward -L 127.0.0.1:<free>:<addr>:<port>`
 *   close() ── exit asked over the control socket (ssh-mux.ts; `ssh -O exit` as fallback), private dir removed
 *
 * Remote commands are POSIX sh scripts built with `shellQuote`; process identities are read
 * from the host's /proc in the same format as src/kit/process.ts, and nothing is signalled
 * unless the process there is still the recorded one.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {mkdir, mkdtemp, rm, symlink} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {createInterface} from 'node:readline'
import {setTimeout as sleep} from 'node:timers/promises'
import {execa} from 'execa'
import {ExternalError, tail as lastLines} from '../../kit/errors.js'
import {acceptNewHostKeys} from '../../kit/host-keys.js'
import {findFreePort} from '../../kit/ports.js'
import type {ProcessIdentity} from '../../kit/process.js'
import type {Host, HostCommandResult, HostFacts, HostRunOptions, HostSpawnOptions, HostTail, HostWriteOptions, TreePart} from './host.js'
import {listenersIn, portTaken} from './proc-net.js'
import {identScript, parseIdent, parseSpawned, signalScript, spawnScript} from './remote-process.js'
import {quietSshOutput, sshFailure} from './ssh-errors.js'
import {ShellPool} from './ssh-shell.js'
import {terminateMaster} from './ssh-mux.js'
import {commandLine, destinationOf, expandHome, exportLines, shellQuote, sshOptions, type SshConnectOptions, type SshTarget} from './ssh-options.js'
import {listInput, localTrees, parseRemoteList, partsOf, remoteListScript, treeDiff} from './tree-diff.js'

export type {SshConnectOptions, SshTarget} from './ssh-options.js'

interface ShOptions {
  input?: string | Buffer
  timeoutMs?: number
  signal?: AbortSignal
  what?: string
}

interface ShResult<T extends string | Buffer> {
  exitCode: number
  stdout: T
  stderr: string
}

/**
 * The largest input a script is given through a kept-open shell (it goes inside the command
 * line, base64, and a shell such as bash reads a pipe byte by byte); a larger one goes with
 * a session of its own.
 */
const SHELL_INPUT_MAX = 64 * 1024

/** Node's names for what `uname -s` / `uname -m` print, so facts compare with process.platform/arch. */
const ARCH: Record<string, string> = {x86_64: 'x64', amd64: 'x64', aarch64: 'arm64', arm64: 'arm64', armv7l: 'arm', armv6l: 'arm', i686: 'ia32', i386: 'ia32', ppc64le: 'ppc64', s390x: 's390x', riscv64: 'riscv64'}

export class SshHost implements Host {
  readonly isLocal = false
  private controlDir?: string
  private connecting?: Promise<void>
  /** The master connection listens (its control socket is there). */
  private up = false
  private resolved?: string
  private readonly forwards = new Map<string, {host: string; port: number}>()
  private readonly tails = new Set<HostTail>()
  /**
   * sshd opens at most MaxSessions (10 by default) sessions per connection; beyond, ssh falls
   * back to new connections. 4 shells, 5 other sessions (installs, large inputs), and one
   * left for a tail.
   */
  private readonly sessions = new Slots(5)
  /** Shells kept open over the master connection, where scripts run once it is up (ssh-shell.ts). */
  private readonly shells = new ShellPool(() => [...this.baseArgs(), '-T', destinationOf(this.target)], 4)
  /** Port checks waiting for this turn's session (portFree). */
  private portChecks?: {address: string; port: number; resolve: (free: boolean) => void; reject: (err: unknown) => void}[]

  /**
   * @param name the spec's name for the host
   * @param target its `ssh` entry (relative paths already resolved against the spec's folder)
   */
  constructor(
    readonly name: string,
    private readonly target: SshTarget,
    private readonly options: SshConnectOptions = {},
  ) {
    destinationOf(target) // throws early on an entry without address or host
  }

  /** The address ssh connects to: `address`, or the HostName an alias resolves to (known once connected). */
  get address(): string {
    return this.resolved ?? this.target.address ?? this.target.host!
  }

  private get destination(): string {
    const d = destinationOf(this.target)
    return this.target.port && this.target.port !== 22 ? `${d}:${this.target.port}` : d
  }

  private controlPath(): string {
    this.controlDir ??= mkdtempSync(join(process.platform === 'win32' ? tmpdir() : '/tmp', 'kctl-ssh-'))
    return join(this.controlDir, 'm')
  }

  private baseArgs(): string[] {
    return sshOptions(this.target, this.controlPath(), {acceptNewHostKeys: acceptNewHostKeys(), ...this.options})
  }

  /**
   * The master connection, opened once; every later ssh run shares it. The first run on a host
   * opens it with its own command (ControlMaster=auto with ControlPersist: ssh moves the new
   * master to the background once it is authenticated and runs the command through it), so
   * connecting costs no ssh run of its own; the runs that come meanwhile wait for the master.
   */
  connect(): Promise<void> {
    if (this.up) return Promise.resolve()
    if (this.connecting) return this.connecting.then(() => this.connect())
    return this.sh('exit 0', {what: 'connecting'}).then(() => undefined)
  }

  /** Runs `script` as the host's first session, which opens the master connection. */
  private async open(script: string, opts: ShOptions): Promise<Awaited<ReturnType<SshHost['session']>>> {
    let settle!: (err?: Error) => void
    const opened = new Promise<void>((resolve, reject) => (settle = (err) => (err ? reject(err) : resolve())))
    opened.catch(() => undefined)
    this.connecting = opened
    const dest = destinationOf(this.target)
    // An alias's address is what the ssh config makes of it (`ssh -G`), read meanwhile; a spec
    // `address` is the address.
    const resolving = this.target.address
      ? undefined
      : execa('ssh', [...this.baseArgs(), '-G', dest], {reject: false, stdin: 'ignore'}).then((g) => {
          this.resolved = /^hostname (\S+)$/m.exec(g.stdout)?.[1] ?? this.resolved
        })
    const socket = this.controlPath()
    const stalled = new AbortController()
    const signal = opts.signal ? AbortSignal.any([opts.signal, stalled.signal]) : stalled.signal
    let ended = false
    // the runs waiting go on as soon as the master listens, not when this command ends
    const watching = (async () => {
      const deadline = Date.now() + ((this.options.connectTimeoutS ?? 10) + 20) * 1000
      while (!ended && !existsSync(socket)) {
        if (Date.now() > deadline) return stalled.abort()
        await sleep(20)
      }
      await resolving
      if (existsSync(socket)) {
        this.up = true
        settle()
      }
    })()
    const r = await this.sessions.use(() => this.session(script, {...opts, signal}))
    ended = true
    await watching
    if (this.up) return r
    this.connecting = undefined
    // No master: ssh could not connect, or ran the command without one (then the next run tries again).
    if (r.exitCode !== 255 && !stalled.signal.aborted) {
      settle()
      return r
    }
    const err = await this.connectFailure(String(r.stderr), stalled.signal.aborted ? 'timed out' : `ssh exited with ${r.exitCode}`)
    settle(err)
    throw err
  }

  /**
   * After an exit 255 that names no ssh failure: the error when the master connection is gone
   * (the host went down or the network between us did), undefined when it is still up (the
   * script itself exited 255). The next run opens a new connection.
   */
  private async lost(what: string | undefined, stderr: string): Promise<Error | undefined> {
    if (!this.up) return undefined
    const check = await execa('ssh', [...this.baseArgs(), '-O', 'check', destinationOf(this.target)], {reject: false, stdin: 'ignore', timeout: 10_000})
    if (check.exitCode === 0) return undefined
    this.up = false
    this.connecting = undefined
    return new ExternalError('HOST_UNREACHABLE', `Lost the SSH connection to host ${this.name} (${this.destination})${what ? ` while ${what}` : ''}.`, quietSshOutput(stderr), {
      hint: `Is the host up, its sshd running, and the network to it working? Try \`${this.failureContext().tryCommand}\`.`,
    })
  }

  private async connectFailure(stderr: string, why: string): Promise<Error> {
    const dest = destinationOf(this.target)
    if (/host key is known for .* and you have requested strict checking/.test(stderr)) {
      // ssh names no fingerprint for an unknown key; its -v output does (before it refuses).
      const v = await execa('ssh', [...this.baseArgs(), '-v', '-o', 'ControlMaster=no', '-o', 'ControlPath=none', dest, 'true'], {reject: false, stdin: 'ignore', timeout: 30_000})
      stderr = `${stderr}\n${v.stderr.split('\n').filter((l) => /Server host key:/.test(l)).join('\n')}`
    }
    return (
      sshFailure(stderr, this.failureContext()) ??
      new ExternalError('HOST_UNREACHABLE', `Can't open an SSH connection to host ${this.name} (${this.destination}): ${why}.`, quietSshOutput(stderr), {
        hint: `Try \`${this.failureContext().tryCommand}\`; it must work without a prompt.`,
      })
    )
  }

  private failureContext() {
    const t = this.target
    const parts = ['ssh', ...(t.configFile ? ['-F', expandHome(t.configFile)] : []), ...(t.identityFile ? ['-i', expandHome(t.identityFile)] : []), ...(t.port ? ['-p', String(t.port)] : [])]
    parts.push(...(t.knownHostsFile ? ['-o', `UserKnownHostsFile=${expandHome(t.knownHostsFile)}`] : []), `${t.user ? `${t.user}@` : ''}${destinationOf(t)}`, 'true')
    return {name: this.name, destination: this.destination, knownHostsFile: t.knownHostsFile && expandHome(t.knownHostsFile), tryCommand: parts.map(shellQuote).join(' ')}
  }

  /** One ssh run of `script` (through the master when there is one; opening it when not). */
  private session(script: string, opts: ShOptions & {buffer?: boolean}) {
    return execa('ssh', [...this.baseArgs(), '-T', destinationOf(this.target), script], {
      reject: false,
      input: opts.input,
      stdin: opts.input === undefined ? 'ignore' : undefined,
      timeout: opts.timeoutMs,
      cancelSignal: opts.signal,
      forceKillAfterDelay: 2000,
      encoding: opts.buffer ? 'buffer' : 'utf8',
      stripFinalNewline: !opts.buffer,
    })
  }

  /** Runs a POSIX sh script on the host over the master connection. ssh's own failures throw; the script's exit code is returned. */
  private async sh(script: string, opts: ShOptions): Promise<ShResult<string>>
  private async sh(script: string, opts: ShOptions & {buffer: true}): Promise<ShResult<Buffer>>
  private async sh(script: string, opts: ShOptions & {buffer?: boolean}): Promise<ShResult<string | Buffer>> {
    let r
    for (;;) {
      if (!this.connecting) {
        r = await this.open(script, opts)
        break
      }
      await this.connecting // a connection that cannot open throws here
      if (this.up && (opts.input === undefined || opts.input.length <= SHELL_INPUT_MAX)) {
        const sr = await this.shells.run(script, opts)
        // as an ssh run gives them (execa strips the final newline of text output)
        r = {...sr, stdout: opts.buffer ? sr.stdout : sr.stdout.toString().replace(/\r?\n$/, ''), stderr: sr.stderr.replace(/\r?\n$/, ''), signal: undefined, shortMessage: sr.message}
        break
      }
      if (this.up) {
        r = await this.sessions.use(() => this.session(script, opts))
        break
      }
      // the run that was opening it ended without a master: this one tries
    }
    const stderr = String(r.stderr)
    if (r.exitCode === 255 && !r.timedOut && !r.isCanceled) {
      const failure = sshFailure(stderr, this.failureContext()) ?? (await this.lost(opts.what, stderr))
      if (failure) throw failure
    }
    if (r.exitCode === undefined || r.timedOut || r.isCanceled) {
      const why = r.timedOut ? `timed out after ${opts.timeoutMs} ms` : r.isCanceled ? 'cancelled' : (r.signal ?? r.shortMessage)
      throw new ExternalError('COMMAND_FAILED', `On host ${this.name}: ${opts.what ?? 'a command'} ${why}.`, lastLines(stderr))
    }
    return {exitCode: r.exitCode, stdout: opts.buffer ? Buffer.from(r.stdout as unknown as Uint8Array) : String(r.stdout), stderr}
  }

  /** Runs a script that must succeed; `what` names it in the error. */
  private async must(script: string, what: string, opts: {input?: string | Buffer} = {}): Promise<string> {
    const r = await this.sh(script, {...opts, what})
    if (r.exitCode !== 0) throw this.failed(what, r)
    return r.stdout
  }

  private failed(what: string, r: {exitCode: number; stderr: string; stdout?: string | Buffer}): ExternalError {
    const out = lastLines(quietSshOutput(r.stderr).trim(), 20)
    return new ExternalError('COMMAND_FAILED', `On host ${this.name}: ${what} failed (exit code ${r.exitCode})${out ? `\n${out}` : ''}`, out)
  }

  async facts(): Promise<HostFacts> {
    const out = await this.must('uname -s; uname -m; node --version 2>/dev/null || echo; cat /proc/1/comm 2>/dev/null || echo; uname -n', 'reading the system facts')
    const [os = '', machine = '', node = '', init = '', hostname = ''] = out.split('\n').map((l) => l.trim())
    return {os: os.toLowerCase(), arch: ARCH[machine] ?? machine, nodeVersion: node || undefined, systemd: init === 'systemd', hostname}
  }

  async run(file: string, args: string[], options: HostRunOptions = {}): Promise<HostCommandResult> {
    const cd = options.cwd ? `cd -- ${shellQuote(options.cwd)} || exit 127\n` : ''
    const what = commandLine(file, args)
    // A timeout is kept on the host (coreutils `timeout`): ending the local ssh leaves a remote
    // program that writes nothing running. The local timeout, a little later, is the backstop.
    const t = options.timeoutMs === undefined ? undefined : Math.max(1, Math.ceil(options.timeoutMs / 1000))
    const limit = t === undefined ? '' : `timeout -k 2 ${t} `
    const script = `${cd}${exportLines(options.env)}exec ${limit}${what}`
    const r = await this.sh(script, {input: options.input, timeoutMs: t === undefined ? undefined : (t + 10) * 1000, signal: options.signal, what})
    if (t !== undefined && (r.exitCode === 124 || r.exitCode === 137)) {
      throw new ExternalError('COMMAND_FAILED', `On host ${this.name}: ${what} timed out after ${options.timeoutMs} ms.`, lastLines(r.stderr))
    }
    if (r.exitCode !== 0 && options.reject !== false) throw this.failed(what, r)
    return r
  }

  async spawnDetached(file: string, args: string[], options: HostSpawnOptions): Promise<ProcessIdentity> {
    return parseSpawned(await this.must(spawnScript(file, args, options), `starting ${commandLine(file, args)}`))
  }

  async processIdentity(pid: number): Promise<ProcessIdentity | undefined> {
    if (!Number.isInteger(pid) || pid <= 0) return undefined
    return parseIdent(pid, await this.must(identScript(pid), 'reading a process'))
  }

  async isSameProcess(recorded: ProcessIdentity | undefined): Promise<boolean> {
    if (!recorded) return false
    const now = await this.processIdentity(recorded.pid)
    return now !== undefined && now.start === recorded.start && now.command === recorded.command
  }

  async signal(recorded: ProcessIdentity, sig: NodeJS.Signals): Promise<boolean> {
    if (!(await this.isSameProcess(recorded))) return false
    // The start is checked again on the host, in the same script as the kill.
    const script = signalScript(recorded, sig)
    const r = await this.sh(script, {})
    if (r.exitCode === 3) return false
    if (r.exitCode !== 0) throw this.failed(`sending ${sig} to process ${recorded.pid}`, r)
    return true
  }

  async terminate(recorded: ProcessIdentity, first: NodeJS.Signals, graceMs: number): Promise<'gone' | 'signalled' | 'killed'> {
    if (!(await this.signal(recorded, first))) return 'gone'
    if (await this.waitGone(recorded, graceMs)) return 'signalled'
    await this.signal(recorded, 'SIGKILL')
    await this.waitGone(recorded, 5000)
    return 'killed'
  }

  private async waitGone(recorded: ProcessIdentity, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (await this.isSameProcess(recorded)) {
      if (Date.now() > deadline) return false
      await sleep(100)
    }
    return true
  }

  async readFile(path: string): Promise<Buffer | undefined> {
    const p = shellQuote(absolute(path))
    const r = await this.sh(`if [ -f ${p} ]; then exec cat -- ${p}; elif [ -e ${p} ]; then echo "not a regular file" >&2; exit 2; else exit 3; fi`, {buffer: true})
    if (r.exitCode === 3) return undefined
    if (r.exitCode !== 0) throw this.failed(`reading ${path}`, r)
    return r.stdout
  }

  async writeFile(path: string, data: string | Buffer, options: HostWriteOptions = {}): Promise<void> {
    const p = shellQuote(absolute(path))
    const mode = (options.mode ?? 0o644).toString(8)
    await this.must(
      [
        'set -e',
        `d=$(dirname -- ${p}); mkdir -p -- "$d"`,
        't=$(mktemp "$d/.kctl-write.XXXXXX"); trap \'rm -f -- "$t"\' EXIT',
        `chmod ${mode} "$t"; cat >"$t"`,
        `mv -f -- "$t" ${p}; trap - EXIT`,
      ].join('\n'),
      `writing ${path}`,
      {input: typeof data === 'string' ? Buffer.from(data) : data},
    )
  }

  async mkdir(path: string, options: HostWriteOptions = {}): Promise<void> {
    const p = shellQuote(absolute(path))
    await this.must(`mkdir -p -- ${p}${options.mode === undefined ? '' : ` && chmod ${options.mode.toString(8)} -- ${p}`}`, `creating ${path}`)
  }

  async exists(path: string): Promise<boolean> {
    const p = shellQuote(absolute(path))
    return (await this.sh(`[ -e ${p} ] || [ -L ${p} ]`, {})).exitCode === 0
  }

  async remove(path: string): Promise<void> {
    const abs = absolute(path)
    if (abs.replace(/\/+$/, '') === '') throw new TypeError('refusing to remove / on a host')
    await this.must(`rm -rf -- ${shellQuote(abs)}`, `removing ${path}`)
  }

  async tail(path: string, options: {lines: number; follow: boolean}): Promise<HostTail> {
    await this.connect()
    const p = shellQuote(absolute(path))
    // lines ≤ 0: the whole file, as on this machine.
    const n = options.lines > 0 ? String(Math.floor(options.lines)) : '+1'
    // Following: the session ends when kctl closes its stdin (or dies), and tail with it.
    const script = options.follow
      ? `tail -n ${n} -F -- ${p} 2>/dev/null & t=$!\ncat >/dev/null\nkill $t 2>/dev/null; exit 0`
      : `[ -e ${p} ] || exit 0\nexec tail -n ${n} -- ${p}`
    const child = execa('ssh', [...this.baseArgs(), '-T', destinationOf(this.target), script], {reject: false, stdin: options.follow ? 'pipe' : 'ignore', buffer: false})
    const lines = createInterface({input: child.stdout!, crlfDelay: Infinity})
    let closed = false
    const close = async (): Promise<void> => {
      if (closed) return
      closed = true
      this.tails.delete(handle)
      child.stdin?.end()
      const done = await Promise.race([child.then(() => true), sleep(5000).then(() => false)])
      if (!done) child.kill('SIGKILL')
      await child.catch(() => undefined)
      lines.close()
    }
    const handle: HostTail = {
      close,
      [Symbol.asyncIterator]: () => lines[Symbol.asyncIterator](),
    }
    this.tails.add(handle)
    return handle
  }

  async copyTree(source: string | readonly TreePart[], dest: string): Promise<{bytesSent: number}> {
    const d = shellQuote(absolute(dest))
    const parts = partsOf(source)
    const {tree: local, origin} = await localTrees(parts)
    const listing = await this.must(remoteListScript(d), `listing ${dest}`, {input: listInput(local)})
    const {paths, bytes} = await treeDiff(local, parseRemoteList(listing))
    if (paths.length === 0) return {bytesSent: 0}
    await this.connect()
    const links = await mkdtemp(join(tmpdir(), 'kctl-parts-'))
    try {
      // One tar for every part: the names are the paths below the destination, each read from
      // the folder its part lies below (a part whose folder does not end in its place is reached
      // through a link named as that place).
      const list: string[] = []
      let at: number | undefined
      for (const p of paths) {
        const part = origin.get(p)!.part
        if (part !== at) list.push(`--directory=${await readFrom(parts[part], links)}`)
        at = part
        list.push(p)
      }
      // Links and files as they are (modes kept), folders without their contents: only the listed entries.
      const [pk, u] = await this.sessions.use(() =>
        packInto(list, [...this.baseArgs(), '-T', destinationOf(this.target), `mkdir -p -- ${d} && exec tar -C ${d} --no-same-owner -xf -`]),
      )
      // GNU tar exits 1 when a file's ctime moved while it was read: a hard link made or removed
      // elsewhere (installs share inodes) does that without touching the bytes, which the next
      // run's size + sha256 comparison checks anyway. Any other message is a failure, unless
      // the pipe broke because ssh ended first (then ssh's failure is the one to report).
      const tarErr = pk.stderr.trim()
      const onlyCtime = pk.exitCode === 1 && tarErr.split('\n').every((l) => /file changed as we read it/.test(l))
      const brokenPipe = u.exitCode !== 0 && (pk.signal === 'SIGPIPE' || /broken pipe/i.test(tarErr))
      if (pk.exitCode !== 0 && !onlyCtime && !brokenPipe) {
        throw new ExternalError('COMMAND_FAILED', `Packing ${parts.map((p) => p.from).join(', ')} for host ${this.name} failed (${pk.signal ? `signal ${pk.signal}` : `exit code ${pk.exitCode}`})${tarErr ? `: ${lastLines(tarErr, 5)}` : '.'}`, tarErr)
      }
      if (u.exitCode !== 0) throw sshFailure(u.stderr, this.failureContext()) ?? this.failed(`unpacking into ${dest}`, u)
      return {bytesSent: bytes}
    } finally {
      await rm(links, {recursive: true, force: true})
    }
  }

  /**
   * Port checks asked for together (in the same turn of the event loop) run as one session:
   * a real bind of each where the host has perl (every Debian/Ubuntu: perl-base), and in any
   * case no listener in /proc/net/tcp{,6} on that port and address (or a wildcard).
   */
  portFree(address: string, port: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      if (!this.portChecks) {
        this.portChecks = []
        setImmediate(() => void this.checkPorts())
      }
      this.portChecks.push({address, port, resolve, reject})
    })
  }

  private async checkPorts(): Promise<void> {
    const batch = this.portChecks ?? []
    this.portChecks = undefined
    try {
      const binds = batch.map((c, i) => ({...c, i})).filter((c) => /^[\d.]+$/.test(c.address))
      const bind = binds.length === 0
        ? ''
        : `if command -v perl >/dev/null 2>&1; then perl -MIO::Socket::INET -e 'for (my $i = 0; $i < @ARGV; $i += 3) { print((IO::Socket::INET->new(LocalAddr=>$ARGV[$i+1],LocalPort=>$ARGV[$i+2],Listen=>1,ReuseAddr=>1,Proto=>"tcp") ? "bind-ok " : "bind-failed ").$ARGV[$i]."\\n") }' ${binds.map((c) => `${c.i} ${shellQuote(c.address)} ${c.port}`).join(' ')}; fi\n`
      const ports = batch.map((c) => c.port)
      const out = await this.must(`${bind}cat /proc/net/tcp /proc/net/tcp6 2>/dev/null; true`, `checking port${ports.length > 1 ? 's' : ''} ${ports.join(', ')}`)
      const refused = new Set([...out.matchAll(/^bind-failed (\d+)$/gm)].map((m) => Number(m[1])))
      const listeners = listenersIn(out)
      batch.forEach((c, i) => c.resolve(!refused.has(i) && !portTaken(listeners, c.address, c.port)))
    } catch (err) {
      for (const c of batch) c.reject(err)
    }
  }

  async reach(address: string, port: number): Promise<{host: string; port: number}> {
    const key = `${address}:${port}`
    const known = this.forwards.get(key)
    if (known) return known
    await this.connect()
    const local = await findFreePort('127.0.0.1')
    const r = await execa('ssh', [...this.baseArgs(), '-O', 'forward', '-L', `127.0.0.1:${local}:${address}:${port}`, destinationOf(this.target)], {reject: false, stdin: 'ignore'})
    if (r.exitCode !== 0) {
      throw new ExternalError('COMMAND_FAILED', `Can't forward a local port to ${address}:${port} on host ${this.name} (ssh exited with ${r.exitCode}).`, quietSshOutput(r.stderr), {
        hint: 'Is port forwarding allowed by the host’s sshd (AllowTcpForwarding)?',
      })
    }
    const to = {host: '127.0.0.1', port: local}
    this.forwards.set(key, to)
    return to
  }

  async close(): Promise<void> {
    await Promise.all([...[...this.tails].map((t) => t.close()), this.shells.close()])
    if (this.controlDir) {
      // The master is asked to exit over its control socket; `ssh -O exit` when that fails.
      if (this.up && !(await terminateMaster(this.controlPath()))) {
        await execa('ssh', [...this.baseArgs(), '-O', 'exit', destinationOf(this.target)], {reject: false, stdin: 'ignore', timeout: 10_000})
      }
      rmSync(this.controlDir, {recursive: true, force: true})
    }
    this.controlDir = undefined
    this.connecting = undefined
    this.up = false
    this.forwards.clear()
  }
}

/** How a process of `packInto` ended: its exit code (-1 when a signal ended it or it could not start) and what it wrote to stderr. */
interface Ended {
  exitCode: number
  signal: NodeJS.Signals | null
  stderr: string
}

/** Waits for a child to end, keeping the last 64 KiB of its stderr. */
function ended(child: ChildProcess): Promise<Ended> {
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-65_536)))
  return new Promise((resolve) => {
    child.once('error', (err) => resolve({exitCode: -1, signal: null, stderr: `${stderr}${err.message}`}))
    child.once('close', (code, signal) => resolve({exitCode: code ?? -1, signal, stderr}))
  })
}

/**
 * `tar -c` of the listed entries (NUL-separated, `--directory=` lines included) written
 * straight into the stdin of `ssh <sshArgs>`: tar gets ssh's stdin as its stdout, so the
 * archive goes from one process to the other without passing through this one (a bundle
 * is ~110 MB per host).
 */
function packInto(list: string[], sshArgs: string[]): Promise<[Ended, Ended]> {
  const unpack = spawn('ssh', sshArgs, {stdio: ['pipe', 'ignore', 'pipe']})
  const pack = spawn('tar', ['--no-recursion', '--null', '--no-verbatim-files-from', '-T', '-', '-cf', '-'], {stdio: ['pipe', unpack.stdin ?? 'ignore', 'pipe']})
  // tar holds its own copy of the pipe's end: this one closes, so ssh reads EOF when tar exits
  unpack.stdin?.destroy()
  pack.stdin!.on('error', () => undefined) // tar that failed to start: its own error says why
  pack.stdin!.end(Buffer.from(list.map((e) => `${e}\0`).join('')))
  return Promise.all([ended(pack), ended(unpack)])
}

/** At most `size` tasks at once; the others wait their turn in order. */
class Slots {
  private busy = 0
  private readonly waiting: (() => void)[] = []
  constructor(private readonly size: number) {}

  async use<T>(task: () => Promise<T>): Promise<T> {
    if (this.busy >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve))
    else this.busy++
    try {
      return await task()
    } finally {
      const next = this.waiting.shift()
      if (next) next()
      else this.busy--
    }
  }
}

/** Paths on a host are absolute: a relative one would land wherever the login shell starts. */
function absolute(path: string): string {
  if (!path.startsWith('/')) throw new TypeError(`a path on a host must be absolute: ${path}`)
  return path
}


/**
 * The folder tar reads a part's entries from, named by their paths below the destination
 * (`./<to>/…`): the folder its own folder lies in when that ends in `<to>`, else `links`, where
 * `<to>` is made a link to the part's folder.
 */
async function readFrom(part: TreePart, links: string): Promise<string> {
  const from = resolve(part.from)
  if (part.to === '.') return from
  if (from.endsWith(`/${part.to}`)) return from.slice(0, -part.to.length - 1) || '/'
  await mkdir(dirname(join(links, part.to)), {recursive: true})
  await symlink(from, join(links, part.to))
  return links
}
