/** `kctl logs NODE [-f] [-n N]`: a node's (or the database's) log. */
import {createReadStream} from 'node:fs'
import {readFile, stat} from 'node:fs/promises'
import {setTimeout as sleep} from 'node:timers/promises'
import {UserError} from '../kit/errors.js'
import {DATABASE_NODE} from '../cluster/spec.js'
import {checkNodeName, loadCluster, type ClusterRef} from './cluster.js'

export interface LogsOptions extends ClusterRef {
  node: string
  /** Lines from the end to show first (default 50; 0: all). */
  lines: number
  /** Keep printing what is appended until `signal` aborts. */
  follow: boolean
  signal?: AbortSignal
  /** Receives log text as it is read. */
  write(chunk: string): void
}

export async function logs(options: LogsOptions): Promise<{file: string}> {
  const c = await loadCluster(options)
  checkNodeName(c, options.node)
  const file = options.node === DATABASE_NODE ? c.state.embedded!.logFile : c.state.nodes[options.node].logFile
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch {
    throw new UserError('NODE_NOT_FOUND', `${options.node} has no log yet (${file}).`, {hint: `Start it: \`kctl start ${options.node}\`.`})
  }
  const all = text.split('\n')
  if (all.at(-1) === '') all.pop()
  const shown = options.lines > 0 ? all.slice(-options.lines) : all
  if (shown.length) options.write(`${shown.join('\n')}\n`)
  if (options.follow) await follow(file, Buffer.byteLength(text), options)
  return {file}
}

/** Polls the file for growth (works across log rotation by truncation, and on every platform). */
async function follow(file: string, from: number, options: LogsOptions): Promise<void> {
  let offset = from
  while (!options.signal?.aborted) {
    const size = await stat(file).then((s) => s.size, () => 0)
    if (size < offset) offset = 0
    if (size > offset) {
      for await (const chunk of createReadStream(file, {start: offset, end: size - 1, encoding: 'utf8'})) options.write(chunk as string)
      offset = size
    }
    await sleep(200, undefined, {signal: options.signal}).catch(() => {})
  }
}
