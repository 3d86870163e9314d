/**
 * Shells kept open on a host over its master connection: scripts go one after another
 * through a shell's stdin, and each one's stdout, stderr and exit code come back framed.
 *
 *   kctl ──stdin──▶ ssh … 'exec sh' ──▶ <input> | sh -c '<script>'; printf '\n<mark> %s\n' "$?"
 *        ◀─stdout── <script's stdout>\n<mark> <exit code>\n
 *        ◀─stderr── <script's stderr>\n<mark>\n
 *
 * A script run as its own ssh costs a process here (whose start blocks this process until
 * ssh has started) and a session, a login shell and their set-up on the host: tens of ms
 * of CPU on each side, some thirty times per host in an `init`. Through an open shell it
 * costs one `sh -c` on the host. The script runs as it would as its own session: its own
 * `sh -c`, stdin its input or /dev/null, the login's environment and folder.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {shellQuote} from './ssh-options.js'

/** How a script ended: as an ssh run reports it (255: the connection or ssh itself failed). */
export interface ShellResult {
  exitCode: number | undefined
  stdout: Buffer
  stderr: string
  timedOut?: boolean
  isCanceled?: boolean
}

export interface ShellRunOptions {
  input?: string | Buffer
  timeoutMs?: number
  signal?: AbortSignal
}

interface Pending {
  mark: string
  resolve: (r: ShellResult) => void
  out?: {exitCode: number; stdout: Buffer}
  err?: string
  timer?: NodeJS.Timeout
  onAbort?: () => void
}

/** One shell on a host; runs one script at a time. Dead once ssh ends (then `alive` is false). */
export class RemoteShell {
  private readonly child: ChildProcess
  private readonly nonce = randomBytes(8).toString('hex')
  private seq = 0
  private stdout: Buffer[] = []
  private stderr = ''
  private pending: Pending | null = null
  alive = true

  constructor(sshArgs: readonly string[]) {
    this.child = spawn('ssh', [...sshArgs, 'exec sh'], {stdio: ['pipe', 'pipe', 'pipe']})
    this.child.stdin!.on('error', () => undefined) // ssh gone: its exit says why
    this.child.stdout!.on('data', (b: Buffer) => this.onStdout(b))
    this.child.stderr!.setEncoding('utf8').on('data', (s: string) => this.onStderr(s))
    this.child.once('error', (err) => this.end(err.message))
    this.child.once('close', () => this.end())
    this.idle()
  }

  /** Runs `script` with `sh -c` on the host; resolves as an ssh run would (never rejects). */
  run(script: string, opts: ShellRunOptions = {}): Promise<ShellResult> {
    if (!this.alive || this.pending) throw new Error('RemoteShell.run: the shell is busy or gone')
    const mark = `kctl-${this.nonce}-${this.seq++}`
    const feed = opts.input === undefined ? '' : `printf %s ${Buffer.from(opts.input).toString('base64')} | base64 -d | `
    const tail = opts.input === undefined ? ' </dev/null' : ''
    const line = `${feed}sh -c ${shellQuote(script)}${tail}; printf '\\n%s %s\\n' ${mark} "$?"; printf '\\n%s\\n' ${mark} >&2\n`
    return new Promise<ShellResult>((resolve) => {
      const p: Pending = {mark, resolve}
      this.pending = p
      this.busy()
      if (opts.timeoutMs !== undefined) p.timer = setTimeout(() => this.abort({timedOut: true}), opts.timeoutMs)
      if (opts.signal) {
        if (opts.signal.aborted) return this.abort({isCanceled: true})
        p.onAbort = () => this.abort({isCanceled: true})
        opts.signal.addEventListener('abort', p.onAbort, {once: true})
      }
      this.child.stdin!.write(line)
    })
  }

  /** Ends the shell: its stdin closes (the host's sh exits), then ssh is ended if it lingers. */
  async close(): Promise<void> {
    if (!this.alive) return
    const gone = new Promise<void>((resolve) => this.child.once('close', () => resolve()))
    this.child.stdin!.end()
    const timer = setTimeout(() => this.child.kill('SIGTERM'), 2000)
    await gone
    clearTimeout(timer)
  }

  private onStdout(b: Buffer): void {
    this.stdout.push(b)
    const p = this.pending
    if (!p || p.out) return
    const all = this.stdout.length === 1 ? b : Buffer.concat(this.stdout)
    this.stdout = [all]
    const at = all.indexOf(`\n${p.mark} `)
    if (at < 0) return
    const eol = all.indexOf('\n', at + 1)
    if (eol < 0) return
    p.out = {exitCode: Number(all.toString('latin1', at + p.mark.length + 2, eol)), stdout: all.subarray(0, at)}
    this.stdout = eol + 1 < all.length ? [all.subarray(eol + 1)] : []
    this.settle()
  }

  private onStderr(s: string): void {
    this.stderr += s
    const p = this.pending
    if (!p || p.err !== undefined) return
    const at = this.stderr.indexOf(`\n${p.mark}\n`)
    if (at < 0) return
    p.err = this.stderr.slice(0, at)
    this.stderr = this.stderr.slice(at + p.mark.length + 2)
    this.settle()
  }

  /** Both streams have their mark: the script is done. */
  private settle(): void {
    const p = this.pending
    if (!p?.out || p.err === undefined) return
    this.finish(p, {exitCode: p.out.exitCode, stdout: p.out.stdout, stderr: p.err})
    this.idle()
  }

  private finish(p: Pending, r: ShellResult): void {
    clearTimeout(p.timer)
    this.pending = null
    p.resolve(r)
  }

  /** A timeout or a cancel: the script may still be running, so the shell goes with it. */
  private abort(how: {timedOut?: boolean; isCanceled?: boolean}): void {
    const p = this.pending
    if (!p) return
    this.alive = false
    this.child.kill('SIGTERM')
    this.finish(p, {exitCode: undefined, stdout: Buffer.concat(this.stdout), stderr: this.stderr, ...how})
  }

  /** ssh ended (the connection, the host, or `close`): a script still running ends as ssh's failure (255). */
  private end(message?: string): void {
    this.alive = false
    const p = this.pending
    if (p) this.finish(p, {exitCode: 255, stdout: Buffer.concat(this.stdout), stderr: `${this.stderr}${message ?? ''}`})
  }

  /** An idle shell does not keep this process running. */
  private idle(): void {
    this.child.unref()
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) (s as unknown as {unref?: () => void})?.unref?.()
  }

  private busy(): void {
    this.child.ref()
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) (s as unknown as {ref?: () => void})?.ref?.()
  }
}

/** Up to `size` shells on one host, opened as scripts need them and reused. */
export class ShellPool {
  private readonly idle: RemoteShell[] = []
  private readonly waiting: ((s: RemoteShell | null) => void)[] = []
  private open = 0

  constructor(
    private readonly sshArgs: () => string[],
    private readonly size: number,
  ) {}

  async run(script: string, opts: ShellRunOptions = {}): Promise<ShellResult> {
    const shell = await this.take()
    try {
      return await shell.run(script, opts)
    } finally {
      this.give(shell)
    }
  }

  /** Ends every shell (idle ones at once; busy ones as their script ends). */
  async close(): Promise<void> {
    const idle = this.idle.splice(0)
    this.open -= idle.length
    await Promise.all(idle.map((s) => s.close()))
  }

  private async take(): Promise<RemoteShell> {
    for (;;) {
      const s = this.idle.pop()
      if (s?.alive) return s
      if (s) this.open--
      else break
    }
    if (this.open < this.size) {
      this.open++
      return new RemoteShell(this.sshArgs())
    }
    const s = await new Promise<RemoteShell | null>((resolve) => this.waiting.push(resolve))
    return s ?? this.take()
  }

  private give(shell: RemoteShell): void {
    if (!shell.alive) {
      this.open--
      this.waiting.shift()?.(null)
      return
    }
    const next = this.waiting.shift()
    if (next) next(shell)
    else this.idle.push(shell)
  }
}
