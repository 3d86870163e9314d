/**
 * The data plane's copy of its last applied configuration, `<prefix>/config.cache.json.gz`:
 * the reconfigure payload exactly as received (gzip JSON), written to a temp file,
 * fsynced, renamed (mode 0600), so a crash never leaves half a file.
 */
import {closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync} from 'node:fs'
import {join} from 'node:path'

export const cachePath = (prefix: string) => join(prefix, 'config.cache.json.gz')

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
}

/** The cached payload, or null when there is none. Throws nothing. */
export function readCache(prefix: string): Buffer | null {
  try {
    return readFileSync(cachePath(prefix))
  } catch {
    return null
  }
}
