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
 * costs one `sh -c` on the host. The script runs as it would as its own session (where the
 * login shell runs it): its own `sh -c`, stdin its input or /dev/null, the login's
 * environment and folder. Output a background process of an earlier script writes while
 * no script runs, or before a script's start mark, is dropped.
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
  /** Why the script has no exit code, when neither a timeout nor a cancel. */
  message?: string
}

export interface ShellRunOptions {
  input?: string | Buffer
  timeoutMs?: number
  signal?: AbortSignal
}

/** The most output (stdout, and stderr apart) kept of one script, as execa's `maxBuffer`. */
const MAX_OUTPUT = 100 * 1024 * 1024

/** Bytes kept from before the newest chunk, so a mark split across chunks is found. */
const OVERLAP = 64

/** One stream of the shell: its bytes, searched for the pending script's marks as they come. */
class Stream {
  private chunks: Buffer[] = []
  private size = 0
  /** The last OVERLAP bytes before the newest chunk, and up to its end. */
  private before = Buffer.alloc(0)
  private tail = Buffer.alloc(0)
  /** Where the pending script's output starts (after its start mark); -1 until seen. */
  start = -1
  /** Where its end mark starts; -1 until seen. */
  end = -1

  push(b: Buffer): void {
    this.chunks.push(b)
    this.size += b.length
    this.before = this.tail
    const w = this.before.length > 0 ? Buffer.concat([this.before, b]) : b
    this.tail = Buffer.from(w.subarray(Math.max(0, w.length - OVERLAP)))
  }

  get bytes(): number {
    return this.size
  }

  /** Where `needle` (at most OVERLAP bytes) starts at or after `from`, looking only at the newest chunk and the bytes just before it; -1 if not there. */
  find(needle: Buffer, from: number): number {
    const last = this.chunks[this.chunks.length - 1]
    if (last === undefined) return -1
    const window = this.before.length > 0 ? Buffer.concat([this.before, last]) : last
    const base = this.size - window.length
    const i = window.indexOf(needle, Math.max(0, from - base))
    return i < 0 ? -1 : base + i
  }

  /** Everything, as one buffer. */
  all(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)]
    return this.chunks[0] ?? Buffer.alloc(0)
  }

  /** Drops the first `n` bytes (what the finished script had) and forgets the marks. */
  drop(n: number): void {
    const rest = this.all().subarray(n)
    this.chunks = rest.length > 0 ? [rest] : []
    this.size = rest.length
    this.before = Buffer.alloc(0)
    this.tail = Buffer.from(rest.subarray(Math.max(0, rest.length - OVERLAP)))
    this.start = this.end = -1
  }
}

interface Pending {
  start: Buffer
  end: Buffer
  resolve: (r: ShellResult) => void
  timer?: NodeJS.Timeout
  signal?: AbortSignal
  onAbort?: () => void
}

/** One shell on a host; runs one script at a time. Dead once ssh ends (then `alive` is false). */
export class RemoteShell {
  private readonly child: ChildProcess
  private readonly nonce = randomBytes(8).toString('hex')
  private seq = 0
  private readonly out = new Stream()
  private readonly err = new Stream()
  private pending: Pending | null = null
  alive = true

  constructor(sshArgs: readonly string[]) {
    this.child = spawn('ssh', [...sshArgs, 'exec sh'], {stdio: ['pipe', 'pipe', 'pipe']})
    this.child.stdin!.on('error', () => undefined) // ssh gone: its exit says why
    this.child.stdout!.on('data', (b: Buffer) => this.onData(this.out, b))
    this.child.stderr!.on('data', (b: Buffer) => this.onData(this.err, b))
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
    // a start mark on both streams first: what a background process of an earlier script
    // wrote meanwhile is not this script's
    const line = `printf '%s\\n' ${mark}s; printf '%s\\n' ${mark}s >&2; ${feed}sh -c ${shellQuote(script)}${tail}; printf '\\n%s %s\\n' ${mark}e "$?"; printf '\\n%s\\n' ${mark}e >&2\n`
    return new Promise<ShellResult>((resolve) => {
      const p: Pending = {start: Buffer.from(`${mark}s\n`), end: Buffer.from(`\n${mark}e`), resolve}
      this.pending = p
      this.busy()
      this.out.drop(this.out.bytes)
      this.err.drop(this.err.bytes)
      if (opts.timeoutMs !== undefined) p.timer = setTimeout(() => this.abort(p, {timedOut: true}), opts.timeoutMs)
      if (opts.signal) {
        if (opts.signal.aborted) return this.abort(p, {isCanceled: true})
        p.signal = opts.signal
        p.onAbort = () => this.abort(p, {isCanceled: true})
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

  private onData(s: Stream, b: Buffer): void {
    const p = this.pending
    if (!p) return // no script runs: a background process's output, nobody's
    s.push(b)
    if (s.start < 0) {
      const at = s.find(p.start, 0)
      if (at < 0) {
        if (s.bytes > MAX_OUTPUT) s.drop(s.bytes - p.start.length) // not ours; keep only what may be the mark's beginning
        return
      }
      s.start = at + p.start.length
    }
    if (s.end < 0) {
      const at = s.find(p.end, s.start)
      if (at < 0) {
        if (s.bytes - s.start > MAX_OUTPUT) this.abort(p, {message: `its output passed ${MAX_OUTPUT / 1024 / 1024} MB`})
        return
      }
      s.end = at
    }
    this.settle(p)
  }

  /** Both streams have their end mark (stdout's with the exit code after it): the script is done. */
  private settle(p: Pending): void {
    if (this.out.end < 0 || this.err.end < 0) return
    const out = this.out.all()
    const eol = out.indexOf(10, this.out.end + p.end.length)
    if (eol < 0) return // the exit code's line is not whole yet
    const exitCode = Number(out.toString('latin1', this.out.end + p.end.length + 1, eol))
    const stdout = Buffer.from(out.subarray(this.out.start, this.out.end))
    const errAll = this.err.all()
    const stderr = errAll.toString('utf8', this.err.start, this.err.end)
    this.out.drop(eol + 1)
    this.err.drop(this.err.end + p.end.length + 1)
    this.finish(p, {exitCode, stdout, stderr})
    this.idle()
  }

  private finish(p: Pending, r: ShellResult): void {
    clearTimeout(p.timer)
    if (p.onAbort) p.signal!.removeEventListener('abort', p.onAbort)
    if (this.pending === p) this.pending = null
    p.resolve(r)
  }

  /** A timeout, a cancel or too much output: the script may still be running, so the shell goes with it. */
  private abort(p: Pending, how: {timedOut?: boolean; isCanceled?: boolean; message?: string}): void {
    if (this.pending !== p) return
    this.alive = false
    this.child.kill('SIGTERM')
    this.finish(p, {exitCode: undefined, ...this.partial(), ...how})
  }

  /** ssh ended (the connection, the host, or `close`): a script still running ends as ssh's failure (255). */
  private end(message?: string): void {
    this.alive = false
    const p = this.pending
    if (p) {
      const partial = this.partial()
      this.finish(p, {exitCode: 255, stdout: partial.stdout, stderr: `${partial.stderr}${message ?? ''}`})
    }
  }

  /** What the pending script wrote so far (after its start marks). */
  private partial(): {stdout: Buffer; stderr: string} {
    const out = this.out.all()
    const err = this.err.all()
    return {stdout: Buffer.from(out.subarray(Math.max(0, this.out.start))), stderr: err.toString('utf8', Math.max(0, this.err.start))}
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
  private idle: RemoteShell[] = []
  private readonly waiting: ((s: RemoteShell | null) => void)[] = []
  private open = 0
  /** Shells of an earlier generation (before `close`) are ended when their script is done. */
  private generation = 0
  private readonly born = new WeakMap<RemoteShell, number>()

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

  /** Ends every shell: idle ones now, busy ones once their script is done. */
  async close(): Promise<void> {
    this.generation++
    const idle = this.idle
    this.idle = []
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
      const shell = new RemoteShell(this.sshArgs())
      this.born.set(shell, this.generation)
      return shell
    }
    const s = await new Promise<RemoteShell | null>((resolve) => this.waiting.push(resolve))
    return s ?? this.take()
  }

  private give(shell: RemoteShell): void {
    if (!shell.alive || this.born.get(shell) !== this.generation) {
      if (this.born.get(shell) === this.generation) this.open--
      else void shell.close()
      this.waiting.shift()?.(null)
      return
    }
    const next = this.waiting.shift()
    if (next) next(shell)
    else this.idle.push(shell)
  }
}
