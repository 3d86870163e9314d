/**
 * Writing certificates and keys: cert 0644, key 0600, never half-written (temp file then
 * rename), and never over an existing file unless asked.
 */
import {randomBytes} from 'node:crypto'
import {existsSync} from 'node:fs'
import {chmod, link, mkdir, open, rename, unlink} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {PkiError} from './errors.js'

export const CERT_MODE = 0o644
export const KEY_MODE = 0o600

export interface WriteKeyPairOptions {
  /** PEM texts. */
  cert: string
  key: string
  certPath: string
  keyPath: string
  /** Replace files that exist. Without it nothing is written when either exists. */
  force?: boolean
}

/**
 * Writes a certificate and its key. Both paths are checked before either file is written.
 * @throws PkiError FILE_EXISTS (with `path`) when a file exists and `force` is not set.
 */
export async function writeKeyPair(options: WriteKeyPairOptions): Promise<void> {
  const force = options.force ?? false
  refuseExisting([options.certPath, options.keyPath], force)
  await writeAtomic(options.certPath, options.cert, CERT_MODE, force)
  await writeAtomic(options.keyPath, options.key, KEY_MODE, force)
}

/**
 * Throws for the first path that exists, unless `force`. Call it for every file of a set
 * before writing any, so a refusal leaves nothing half-done.
 * @throws PkiError FILE_EXISTS
 */
export function refuseExisting(paths: string[], force: boolean): void {
  if (force) return
  for (const path of paths) {
    if (existsSync(path)) throw new PkiError('FILE_EXISTS', `${path} already exists. Will not overwrite it (--force replaces it).`, path)
  }
}

/**
 * Writes `text` to a temp file next to `path` with `mode`, then moves it in place. Without
 * `force` the move is a hard link, which fails if `path` appeared meanwhile, so a file
 * created by someone else between the check and the write is never replaced.
 * @throws PkiError FILE_EXISTS in that race; node's errors for I/O failures.
 */
export async function writeAtomic(path: string, text: string, mode: number, force: boolean): Promise<void> {
  await mkdir(dirname(path), {recursive: true})
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  const handle = await open(tmp, 'wx', mode)
  try {
    await handle.writeFile(text)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    // open() applied the umask; the modes are part of the contract, so set them exactly.
    await chmod(tmp, mode)
    if (force) {
      await rename(tmp, path)
      return
    }
    await link(tmp, path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new PkiError('FILE_EXISTS', `${path} already exists. Will not overwrite it (--force replaces it).`, path)
    throw err
  } finally {
    await unlink(tmp).catch(() => {})
  }
}
