/**
 * The data plane's copy of its last applied configuration, `<prefix>/config.cache.json.gz`:
 * the reconfigure payload exactly as received (gzip JSON), written to a temp file,
 * fsynced, renamed (mode 0600), so a crash never leaves half a file.
 *
 * The deltas applied since (incremental sync) are appended to `<prefix>/config.deltas`,
 * each frame as received after its 4-byte length, fsynced; writing a new whole
 * configuration empties it. A record cut short by a crash ends the list; a delta that
 * does not follow the cached version is skipped when the cache is read back.
 *
 * A running DP writes through a `CacheWriter`: one write at a time, in order, on libuv's
 * thread pool. An fsync takes milliseconds, and the event loop also serves the proxy.
 */
import {readFileSync} from 'node:fs'
import {open, rename, rm} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {gzip} from 'node:zlib'

const gzipAsync = promisify(gzip)

export const cachePath = (prefix: string) => join(prefix, 'config.cache.json.gz')
export const deltaLogPath = (prefix: string) => join(prefix, 'config.deltas')

const record = (bytes: Buffer): Buffer => {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(bytes.length)
  return Buffer.concat([len, bytes])
}

/** The delta frames logged since the cached configuration, in order. Throws nothing. */
export function readDeltaLog(prefix: string): Buffer[] {
  let data: Buffer
  try {
    data = readFileSync(deltaLogPath(prefix))
  } catch {
    return []
  }
  const out: Buffer[] = []
  for (let at = 0; at + 4 <= data.length; ) {
    const len = data.readUInt32BE(at)
    if (at + 4 + len > data.length) break
    out.push(data.subarray(at + 4, at + 4 + len))
    at += 4 + len
  }
  return out
}

/** The cached payload, or null when there is none. Throws nothing. */
export function readCache(prefix: string): Buffer | null {
  try {
    return readFileSync(cachePath(prefix))
  } catch {
    return null
  }
}

/**
 * A DP's cache writes, queued: each starts when the one before has ended (failed or not),
 * off the event loop. A failure goes to `failed` and does not stop the next write; a delta
 * logged after a lost one does not follow the cached version and is skipped on reading.
 */
export class CacheWriter {
  private last: Promise<void> = Promise.resolve()

  constructor(
    private readonly prefix: string,
    private readonly failed: (err: Error) => void,
  ) {}

  /** Appends one delta frame to the log. */
  append(bytes: Buffer): Promise<void> {
    return this.queue(async () => {
      const file = await open(deltaLogPath(this.prefix), 'a', 0o600)
      try {
        await file.writeFile(record(bytes))
        await file.sync()
      } finally {
        await file.close()
      }
    })
  }

  /** Replaces the whole cache with a gzip frame, or with JSON to gzip (on the thread pool too), and empties the log. */
  replace(frame: Buffer | {json: string}): Promise<void> {
    return this.queue(async () => {
      const bytes = Buffer.isBuffer(frame) ? frame : await gzipAsync(frame.json)
      const target = cachePath(this.prefix)
      const tmp = `${target}.${process.pid}.tmp`
      const file = await open(tmp, 'w', 0o600)
      try {
        await file.writeFile(bytes)
        await file.sync()
      } finally {
        await file.close()
      }
      await rename(tmp, target)
      await rm(deltaLogPath(this.prefix), {force: true})
    })
  }

  /** Resolves once every write queued so far has ended. */
  idle(): Promise<void> {
    return this.last
  }

  private queue(write: () => Promise<void>): Promise<void> {
    const run = this.last.then(write).catch((err: Error) => this.failed(err))
    this.last = run
    return run
  }
}
