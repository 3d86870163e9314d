/**
 * Kong's `write_timeout` (nginx's proxy_send_timeout): the longest wait between two
 * successive writes of the request body to the upstream. undici gives no write progress,
 * so the body goes through a Readable whose pulls are the progress: the consumer pulls
 * as long as the socket takes data. When data waits in the buffer and nothing was pulled
 * for `timeoutMs`, the upstream stopped reading: the body is destroyed with a timeout
 * failure, which fails the try (504). A client that is slow to send leaves the buffer
 * empty and is not the upstream's fault.
 */
import {Readable} from 'node:stream'
import {UpstreamFailure} from './upstream.js'

/** Bodies below this fit a socket's send buffer: written at once, nothing to watch. */
export const WATCH_FROM_BYTES = 256 * 1024
const CHUNK = 64 * 1024

export function watchWrites(source: Buffer | Readable, timeoutMs: number): Readable {
  let offset = 0
  let lastPull = performance.now()
  const body: Readable = new Readable({
    highWaterMark: CHUNK,
    read() {
      lastPull = performance.now()
      if (Buffer.isBuffer(source)) {
        const end = Math.min(offset + CHUNK, source.length)
        this.push(end > offset ? source.subarray(offset, end) : null)
        offset = end
      } else if (source.isPaused()) source.resume()
    },
    destroy(err, cb) {
      clearInterval(timer)
      if (!Buffer.isBuffer(source) && err) source.destroy()
      cb(err)
    },
  })
  if (!Buffer.isBuffer(source)) {
    source.on('data', (chunk: Buffer) => {
      if (!body.push(chunk)) source.pause()
    })
    source.once('end', () => body.push(null))
    source.once('error', (err) => body.destroy(err))
    source.pause()
  }
  const timer = setInterval(() => {
    if (body.readableLength > 0 && performance.now() - lastPull >= timeoutMs) {
      body.destroy(new UpstreamFailure('timeout', `upstream timed out writing the request body (write_timeout ${timeoutMs} ms)`))
    }
  }, Math.max(10, Math.min(timeoutMs / 4, 1000)))
  timer.unref()
  body.once('end', () => clearInterval(timer))
  return body
}
