/**
 * Kong's `write_timeout` (nginx's proxy_send_timeout): the longest wait between two
 * successive writes of the request body to the upstream. undici gives no write progress,
 * so the body goes through a Readable whose pulls are the progress: the consumer pulls
 * as long as the socket takes data. When data waits in the buffer and nothing was pulled
 * for `timeoutMs`, the upstream stopped reading: the body is destroyed with a timeout
 * failure, which fails the try (504). A client that is slow to send leaves the buffer
 * empty and is not the upstream's fault.
 *
 * On that timeout a streamed source (the client's request) is only let go, not destroyed,
 * so the client still reads the 504 on its connection.
 */
import {Readable} from 'node:stream'
import {UpstreamFailure} from './upstream/index.js'

/** Bodies below this fit a socket's send buffer: written at once, nothing to watch. */
export const WATCH_FROM_BYTES = 256 * 1024
const CHUNK = 64 * 1024

export function watchWrites(source: Buffer | Readable, timeoutMs: number): Readable {
  let offset = 0
  // Armed while data waits for the consumer; every pull pushes it back.
  const timer = setTimeout(() => {
    if (body.readableLength > 0) body.destroy(new UpstreamFailure('timeout', `upstream timed out writing the request body (write_timeout ${timeoutMs} ms)`))
    else timer.refresh()
  }, timeoutMs)
  timer.unref()
  const onData = (chunk: Buffer) => {
    if (!body.push(chunk)) (source as Readable).pause()
  }
  const onEnd = () => body.push(null)
  const onError = (err: Error) => body.destroy(err)
  const body: Readable = new Readable({
    highWaterMark: CHUNK,
    read() {
      timer.refresh()
      if (Buffer.isBuffer(source)) {
        const end = Math.min(offset + CHUNK, source.length)
        this.push(end > offset ? source.subarray(offset, end) : null)
        offset = end
      } else if (source.isPaused()) source.resume()
    },
    destroy(err, cb) {
      clearTimeout(timer)
      if (!Buffer.isBuffer(source)) {
        source.off('data', onData).off('end', onEnd).off('error', onError)
        // The upstream stalled: leave the client's request to the server (the 504 still goes out on it).
        if (err && !(err instanceof UpstreamFailure)) source.destroy()
      }
      cb(err)
    },
  })
  if (!Buffer.isBuffer(source)) {
    source.on('data', onData)
    source.once('end', onEnd)
    source.once('error', onError)
    source.pause()
  }
  return body
}
