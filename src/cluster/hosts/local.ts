/**
 * This machine as a Host: processes through kit/process (identity = pid + start + command
 * line), commands through kit/exec, files through node:fs, ports through kit/ports. Every
 * node without `host` in the spec runs here, exactly as before hosts existed.
 */
import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {chmod, copyFile, lstat, mkdir, open, readdir, readFile, readlink, rename, rm, stat, symlink, writeFile} from 'node:fs/promises'
import {hostname} from 'node:os'
import {dirname, join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {detachedExit, run, spawnDetached} from '../../kit/exec.js'
import {isPortFree} from '../../kit/ports.js'
import {isSameProcess, launchedIdentity, processIdentity, signalProcess, terminate, type ProcessIdentity} from '../../kit/process.js'
import type {Host, HostCommandResult, HostFacts, HostRunOptions, HostSpawnOptions, HostTail, HostWriteOptions, TreePart} from './host.js'
import {partsOf} from './tree-diff.js'

/** The name of this machine wherever hosts are listed (`nodes[].host` absent). */
export const LOCAL_HOST = 'local'

/** How often a followed file is checked for growth. */
const FOLLOW_POLL_MS = 200

export class LocalHost implements Host {
  readonly name = LOCAL_HOST
  readonly address = '127.0.0.1'
  readonly isLocal = true
  private readonly tails = new Set<HostTail>()

  async facts(): Promise<HostFacts> {
    const comm = await readFile('/proc/1/comm', 'utf8').catch(() => '')
    return {os: process.platform, arch: process.arch, nodeVersion: process.version, systemd: comm.trim() === 'systemd', hostname: hostname()}
  }

  async run(file: string, args: string[], options: HostRunOptions = {}): Promise<HostCommandResult> {
    return run(file, args, {cwd: options.cwd, env: options.env, input: options.input, timeoutMs: options.timeoutMs, signal: options.signal, reject: options.reject, what: `${file} failed on ${this.name}`})
  }

  async spawnDetached(file: string, args: string[], options: HostSpawnOptions): Promise<ProcessIdentity> {
    return launchedIdentity(spawnDetached(file, args, {logFile: options.logFile, cwd: options.cwd, env: options.env, uid: options.runAs?.uid, gid: options.runAs?.gid}), [file, ...args].join(' '))
  }

  exitOf(pid: number): string | undefined {
    return detachedExit(pid)
  }

  async processIdentity(pid: number): Promise<ProcessIdentity | undefined> {
    return processIdentity(pid)
  }

  async isSameProcess(recorded: ProcessIdentity | undefined): Promise<boolean> {
    return isSameProcess(recorded)
  }

  /** isSameProcess without a promise: this machine answers at once (for synchronous readers of the state). */
  isSameProcessNow(recorded: ProcessIdentity | undefined): boolean {
    return isSameProcess(recorded)
  }

  async signal(recorded: ProcessIdentity, sig: NodeJS.Signals): Promise<boolean> {
    return signalProcess(recorded, sig)
  }

  terminate(recorded: ProcessIdentity, first: NodeJS.Signals, graceMs: number): Promise<'gone' | 'signalled' | 'killed'> {
    return terminate(recorded, first, graceMs)
  }

  async readFile(path: string): Promise<Buffer | undefined> {
    try {
      return await readFile(path)
    } catch (err) {
      if (isMissing(err)) return undefined
      throw err
    }
  }

  async writeFile(path: string, data: string | Buffer, options: HostWriteOptions = {}): Promise<void> {
    await mkdir(dirname(path), {recursive: true})
    const tmp = `${path}.${process.pid}.tmp`
    await writeFile(tmp, data, {mode: options.mode})
    // writeFile's mode applies only to a new file (and through the umask): set it exactly.
    if (options.mode !== undefined) await chmod(tmp, options.mode)
    await rename(tmp, path)
  }

  async mkdir(path: string, options: HostWriteOptions = {}): Promise<void> {
    await mkdir(path, {recursive: true, mode: options.mode})
  }

  async exists(path: string): Promise<boolean> {
    return lstat(path).then(() => true, () => false)
  }

  async remove(path: string): Promise<void> {
    await rm(path, {recursive: true, force: true})
  }

  async tail(path: string, options: {lines: number; follow: boolean}): Promise<HostTail> {
    const {text, end} = await lastLines(path, options.lines)
    const all = text.split('\n')
    const partial = all.pop() ?? ''
    // A last line without its newline yet: shown now when not following, else once complete.
    if (!options.follow && partial) all.push(partial)
    const first = options.lines > 0 ? all.slice(-options.lines) : all
    const stop = new AbortController()
    const lines = follow(path, end - (options.follow ? Buffer.byteLength(partial) : 0), first, options.follow, stop.signal)
    const t: HostTail = {
      [Symbol.asyncIterator]: () => lines,
      close: async () => {
        stop.abort()
        this.tails.delete(t)
      },
    }
    this.tails.add(t)
    return t
  }

  async copyTree(source: string | readonly TreePart[], dest: string): Promise<{bytesSent: number}> {
    let bytesSent = 0
    for (const part of partsOf(source)) bytesSent += await this.copyFolder(part.from, part.to === '.' ? dest : join(dest, part.to))
    return {bytesSent}
  }

  private async copyFolder(localDir: string, dest: string): Promise<number> {
    let bytesSent = 0
    await mkdir(dest, {recursive: true})
    for (const entry of await readdir(localDir, {withFileTypes: true})) {
      const from = join(localDir, entry.name)
      const to = join(dest, entry.name)
      if (entry.isDirectory()) {
        bytesSent += await this.copyFolder(from, to)
      } else if (entry.isSymbolicLink()) {
        const target = await readlink(from)
        if ((await readlink(to).catch(() => undefined)) === target) continue
        await rm(to, {recursive: true, force: true})
        await symlink(target, to)
      } else if (entry.isFile()) {
        const src = await stat(from)
        const there = await stat(to).catch(() => undefined)
        if (there?.isFile() && there.size === src.size && (await sha256(from)) === (await sha256(to))) continue
        const tmp = `${to}.${process.pid}.tmp`
        await copyFile(from, tmp)
        await chmod(tmp, src.mode & 0o7777)
        await rename(tmp, to)
        bytesSent += src.size
      }
    }
    return bytesSent
  }

  portFree(address: string, port: number): Promise<boolean> {
    return isPortFree(address, port)
  }

  async reach(address: string, port: number): Promise<{host: string; port: number}> {
    return {host: address, port}
  }

  async close(): Promise<void> {
    await Promise.all([...this.tails].map((t) => t.close()))
  }
}

/** This machine (one object: it holds nothing but the tails it opened). */
export const localHost = new LocalHost()

const isMissing = (err: unknown): boolean => ['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')

/**
 * The end of a file holding at least `lines` whole lines (0: the whole file), read backwards
 * in growing blocks so a long log is not read whole; `end` is the byte offset it stops at.
 */
async function lastLines(path: string, lines: number): Promise<{text: string; end: number}> {
  const fh = await open(path, 'r')
  try {
    const {size} = await fh.stat()
    let start = size
    let block = 64 * 1024
    let buf = Buffer.alloc(0)
    while (start > 0) {
      const from = Math.max(0, start - block)
      const chunk = Buffer.alloc(start - from)
      await fh.read(chunk, 0, chunk.length, from)
      buf = Buffer.concat([chunk, buf])
      start = from
      block *= 2
      // lines + 1 newlines: the first line counted is whole (the block may start mid-line).
      if (lines > 0 && buf.filter((b) => b === 10).length > lines) break
    }
    let text = buf.toString('utf8')
    if (start > 0) text = text.slice(text.indexOf('\n') + 1)
    return {text, end: size}
  } finally {
    await fh.close()
  }
}

function sha256(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256')
    createReadStream(file)
      .on('error', reject)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')))
  })
}

/**
 * The first lines, then (following) the lines appended from byte `from` on: the file is
 * polled for growth, as `kctl logs -f` always did (works on every platform and across a
 * rotation by truncation, after which it reads from the start).
 */
async function* follow(path: string, from: number, first: string[], following: boolean, signal: AbortSignal): AsyncGenerator<string> {
  for (const line of first) {
    if (signal.aborted) return
    yield line
  }
  if (!following) return
  let offset = from
  let partial = ''
  while (!signal.aborted) {
    const size = await stat(path).then((s) => s.size, () => 0)
    if (size < offset) offset = 0
    if (size > offset) {
      for await (const chunk of createReadStream(path, {start: offset, end: size - 1, encoding: 'utf8'})) {
        const parts = (partial + (chunk as string)).split('\n')
        partial = parts.pop() ?? ''
        for (const line of parts) yield line
      }
      offset = size
    }
    await sleep(FOLLOW_POLL_MS, undefined, {signal}).catch(() => {})
  }
  if (partial) yield partial
}
