/**
 * Decodes reconfigure frames off the event loop: gunzip, JSON parse and schema validation
 * of a 10,000-route configuration took about 100 ms of the data plane's main thread, during
 * which the proxy answered nobody (BENCHMARKS.md, config swap). A worker thread does that
 * work; the main thread only receives the entities and builds the router. Frames are decoded
 * in the order sent. The thread starts with the decoder; one that dies is replaced at the
 * next frame (its frames in flight fail).
 */
import {Worker} from 'node:worker_threads'
import {FrameError, type DecodedFrame} from './frame.js'

export interface FrameDecoder {
  decode(frame: Buffer): Promise<DecodedFrame>
  close(): Promise<void>
}

type Pending = {resolve: (d: DecodedFrame) => void; reject: (e: Error) => void}

export function createFrameDecoder(): FrameDecoder {
  let worker: Worker | null = null
  let nextId = 0
  const pending = new Map<number, Pending>()

  const failAll = (err: Error) => {
    for (const p of pending.values()) p.reject(err)
    pending.clear()
  }

  const start = (): Worker => {
    const w = new Worker(new URL('./frame-worker.js', import.meta.url))
    w.unref()
    w.on('message', (m: {id: number; ok?: DecodedFrame; error?: {stage: 'decode' | 'validate'; message: string; hash?: string}}) => {
      const p = pending.get(m.id)
      if (!p) return
      pending.delete(m.id)
      if (m.ok) p.resolve(m.ok)
      else p.reject(new FrameError(m.error!.stage, m.error!.message, m.error!.hash))
    })
    const gone = (why: string) => {
      if (worker === w) worker = null
      failAll(new FrameError('decode', `the frame decoder stopped (${why})`))
    }
    w.on('error', (err) => gone(err.message))
    w.on('exit', (code) => gone(`exit code ${code}`))
    return w
  }

  // started now, so its modules are loaded before the first frame arrives
  worker = start()

  return {
    decode(frame) {
      return new Promise((resolve, reject) => {
        const id = nextId++
        pending.set(id, {resolve, reject})
        try {
          ;(worker ??= start()).postMessage({id, frame})
        } catch (err) {
          pending.delete(id)
          reject(err)
        }
      })
    },
    async close() {
      const w = worker
      worker = null
      if (w) await w.terminate()
    },
  }
}
