/**
 * The data plane's copy of its last applied configuration, `<prefix>/config.cache.json.gz`:
 * the reconfigure payload exactly as received (gzip JSON), written to a temp file,
 * fsynced, renamed (mode 0600), so a crash never leaves half a file.
 *
 * The deltas applied since (incremental sync) are appended to `<prefix>/config.deltas`,
 * each frame as received after its 4-byte length, fsynced; writing a new whole
 * configuration empties it. A record cut short by a crash ends the list; a delta that
 * does not follow the cached version is skipped when the cache is read back.
 */
import {closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync} from 'node:fs'
import {join} from 'node:path'

export const cachePath = (prefix: string) => join(prefix, 'config.cache.json.gz')
export const deltaLogPath = (prefix: string) => join(prefix, 'config.deltas')

/** Appends one delta frame to the log. */
export function appendDelta(prefix: string, bytes: Buffer): void {
  const fd = openSync(deltaLogPath(prefix), 'a', 0o600)
  try {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(bytes.length)
    writeSync(fd, Buffer.concat([len, bytes]))
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
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

export function writeCache(prefix: string, bytes: Buffer): void {
  const file = cachePath(prefix)
  const tmp = `${file}.${process.pid}.tmp`
  const fd = openSync(tmp, 'w', 0o600)
  try {
    writeSync(fd, bytes)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, file)
  rmSync(deltaLogPath(prefix), {force: true})
}

/** The cached payload, or null when there is none. Throws nothing. */
export function readCache(prefix: string): Buffer | null {
  try {
    return readFileSync(cachePath(prefix))
  } catch {
    return null
  }
}
