/**
 * file-log: appends one JSON line per request (Kong's serialized request, pdk/log.ts) to a
 * file. The file stays open between requests, one write stream per path in this proxy;
 * `reopen` closes and opens it again on every request (so a rotated or removed file is
 * made again). Writes are queued on the stream: the request never waits for the disk.
 */
import {createWriteStream, type WriteStream} from 'node:fs'
import {GATEWAY_VERSION, serialize, type ConfigOf, type PluginContext, type PluginHandler, type PluginStateSlot} from '../../pdk/index.js'
import {schema} from './schema.js'

type Config = ConfigOf<typeof schema>

/** The open files, by path. */
type Files = Map<string, WriteStream>

const files: PluginStateSlot<Files> = {
  create: () => new Map(),
  close: (open) => Promise.all([...open.values()].map((s) => new Promise<void>((resolve) => s.end(resolve)))).then(() => open.clear()),
}

// Kong logs the C library's message (strerror); libuv's differ in case or words
const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EISDIR: 'Is a directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EROFS: 'Read-only file system',
  ENOSPC: 'No space left on device',
  ENOTDIR: 'Not a directory',
}

function strerror(err: NodeJS.ErrnoException): string {
  return STRERROR[err.code ?? ''] ?? err.message
}

/** Opens `path` for appending (mode 0644, as Kong); a failure is logged and forgets the stream. */
function openFile(opened: Files, path: string, log: PluginContext['log']): WriteStream {
  const stream = createWriteStream(path, {flags: 'a', mode: 0o644})
  let ready = false
  stream.once('open', () => (ready = true))
  stream.on('error', (err: NodeJS.ErrnoException) => {
    log.error(`[file-log] ${ready ? 'failed to write to the file' : 'failed to open the file'}: ${strerror(err)}`, {plugin: 'file-log'})
    if (opened.get(path) === stream) opened.delete(path)
  })
  opened.set(path, stream)
  return stream
}

export const handler: PluginHandler<Config, unknown, Files> = {
  name: 'file-log',
  version: GATEWAY_VERSION,
  priority: 9,
  state: files,
  log(k, conf) {
    const line = JSON.stringify(serialize(k)) + '\n'
    const opened = k.state
    let stream = opened.get(conf.path)
    if (stream && conf.reopen) {
      stream.end()
      opened.delete(conf.path)
      stream = undefined
    }
    ;(stream ?? openFile(opened, conf.path, k.log)).write(line)
  },
}
