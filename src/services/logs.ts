/** `kctl logs NODE [-f] [-n N]`: a node's (or the database's) log, read on the host it runs on. */
import {UserError} from '../kit/errors.js'
import {hostFor} from '../cluster/hosts/index.js'
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
  const host = hostFor(c.state, options.node)
  // The host's tail polls the file for growth while following (across a rotation by truncation too).
  const lines = await host.tail(file, {lines: options.lines, follow: options.follow}).catch(() => {
    throw new UserError('NODE_NOT_FOUND', `${options.node} has no log yet (${file}).`, {hint: `Start it: \`kctl start ${options.node}\`.`})
  })
  const stop = () => void lines.close()
  options.signal?.addEventListener('abort', stop, {once: true})
  try {
    if (options.signal?.aborted) return {file}
    for await (const line of lines) options.write(`${line}\n`)
  } finally {
    options.signal?.removeEventListener('abort', stop)
    await lines.close()
  }
  return {file}
}
