/**
 * `<prefix>/runtime.entry`: which code the node runs from its next reload or handover on,
 * as one line, the absolute path of a runtime's `main.js` (kctl writes it: `kctl upgrade`
 * points it at another installed version, `--rollback` back). The supervisor reads it when
 * it forks a reload's serving process (SIGHUP) or spawns its successor (SIGUSR2); a crash
 * restart keeps the code that was running. No file, or a path that is not there: the
 * code that runs now.
 *
 * An entry inside a bundle kctl installed on another host (`<dir>/dist/src/runtime/main.js`
 * beside `<dir>/bin/node`) runs on that bundle's Node binary, so a node moved to another
 * version depends on nothing of the one it left.
 */
import {existsSync, readFileSync} from 'node:fs'
import {dirname, isAbsolute, join} from 'node:path'

export const ENTRY_FILE = 'runtime.entry'

export const entryPath = (prefix: string): string => join(prefix, ENTRY_FILE)

/** The entry the file names, or null (no file, not an absolute path, or no such file). */
export function readEntry(prefix: string): string | null {
  let text: string
  try {
    text = readFileSync(entryPath(prefix), 'utf8').trim()
  } catch {
    return null
  }
  return text && isAbsolute(text) && existsSync(text) ? text : null
}

/** The Node binary that runs `entry`: its bundle's `bin/node` when it has one, else this process's. */
export function nodeFor(entry: string): string {
  const bundled = join(dirname(entry), '..', '..', '..', 'bin', 'node')
  return existsSync(bundled) ? bundled : process.execPath
}
